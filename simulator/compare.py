"""Two playbooks, one scenario: what a playbook change does to a customer, as CS ops review it.

Touches (emails) and escalations are matched by what they are (kind, name, recipient): the
n-th `reengagement to champion` of one run is paired with the n-th of the other. A pair on
different days has moved; what has no partner was added or removed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from simulator.run import Result
from simulator.timeline import Entry

What = tuple[str, str, str | None]


@dataclass(frozen=True)
class Moved:
    kind: str
    name: str
    to: str | None
    before: float
    after: float


@dataclass
class Changes:
    added: list[Entry] = field(default_factory=list)
    removed: list[Entry] = field(default_factory=list)
    moved: list[Moved] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.moved)

    def to_json(self) -> dict[str, Any]:
        return {
            "added": [e.public() for e in self.added],
            "removed": [e.public() for e in self.removed],
            "moved": [
                {"kind": m.kind, "name": m.name, "to": m.to, "day_before": m.before, "day_after": m.after}
                for m in self.moved
            ],
        }


@dataclass
class Comparison:
    base: Result
    other: Result
    touches: Changes
    escalations: Changes

    @property
    def outcome_changed(self) -> bool:
        return self.base.outcome != self.other.outcome

    @property
    def first_value_changed(self) -> bool:
        return self.base.days_to_first_value != self.other.days_to_first_value

    @property
    def same(self) -> bool:
        return not (self.touches or self.escalations or self.outcome_changed or self.first_value_changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base.to_json(),
            "other": self.other.to_json(),
            "differences": {
                "outcome": [self.base.outcome, self.other.outcome] if self.outcome_changed else None,
                "days_to_first_value": (
                    [self.base.days_to_first_value, self.other.days_to_first_value]
                    if self.first_value_changed
                    else None
                ),
                "touches": self.touches.to_json(),
                "escalations": self.escalations.to_json(),
            },
        }


def _changes(base: list[Entry], other: list[Entry]) -> Changes:
    def grouped(entries: list[Entry]) -> dict[What, list[Entry]]:
        groups: dict[What, list[Entry]] = defaultdict(list)
        for e in entries:
            groups[(e.kind, e.name, e.to)].append(e)
        return groups

    before, after = grouped(base), grouped(other)
    changes = Changes()
    for what in {**before, **after}:
        old, new = before.get(what, []), after.get(what, [])
        for a, b in zip(old, new, strict=False):
            if a.day != b.day:
                changes.moved.append(Moved(*what, before=a.day, after=b.day))
        changes.removed += old[len(new) :]
        changes.added += new[len(old) :]
    changes.added.sort(key=lambda e: e.day)
    changes.removed.sort(key=lambda e: e.day)
    changes.moved.sort(key=lambda m: min(m.before, m.after))
    return changes


def compare(base: Result, other: Result) -> Comparison:
    def of(result: Result, kinds: tuple[str, ...]) -> list[Entry]:
        return [e for e in result.timeline if e.kind in kinds]

    return Comparison(
        base=base,
        other=other,
        touches=_changes(of(base, ("email",)), of(other, ("email",))),
        escalations=_changes(of(base, ("escalation", "task")), of(other, ("escalation", "task"))),
    )


def _entry(e: Entry) -> str:
    return f"day {e.day:g}: {e.name}" + (f" to {e.to}" if e.to else "")


def _section(title: str, changes: Changes) -> list[str]:
    lines = [f"  {title} added      {_entry(e)}" for e in changes.added]
    lines += [f"  {title} removed    {_entry(e)}" for e in changes.removed]
    lines += [
        f"  {title} moved      {m.name}" + (f" to {m.to}" if m.to else "") + f": day {m.before:g} -> day {m.after:g}"
        for m in changes.moved
    ]
    return lines


def readable(c: Comparison, base_name: str, other_name: str) -> str:
    def ttfv(r: Result) -> str:
        return f"{r.days_to_first_value:g} days" if r.days_to_first_value is not None else "not reached"

    lines = [
        f"Scenario {c.base.scenario} ({c.base.segment}, {c.base.days:g} days) on two playbooks:",
        f"  A  {c.base.playbook} ({base_name})",
        f"  B  {c.other.playbook} ({other_name})",
        "",
        f"  outcome          {c.base.outcome} -> {c.other.outcome}" + ("" if c.outcome_changed else " (same)"),
        f"  first value      {ttfv(c.base)} -> {ttfv(c.other)}" + ("" if c.first_value_changed else " (same)"),
        *_section("touch", c.touches),
        *_section("escalation", c.escalations),
    ]
    if not (c.touches or c.escalations):
        lines.append("  touches and escalations: no differences")
    return "\n".join(lines)
