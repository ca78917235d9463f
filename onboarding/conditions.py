"""Conditions a playbook puts on a rule (`when:`), parsed once when the playbook loads.

One condition is one short phrase:

- `kickoff_done`, `not first_login`: a fact holds, or does not;
- `kickoff_done older than 7d`, `phase:pilot_adoption newer than 7d`: a fact holds and happened
  more (or less) than that long ago;
- `no activity for 3d`, `activity within 7d`: the customer did nothing for at least that
  long, or did something more recently (pauses excluded);
- `qualified_leads >= 10`, `active.share >= 0.8`, `csat <= 2`: a metric (or survey score)
  compared with a number; a metric nobody reported fails every comparison;
- `reason == churned`: a field of the message a reaction answers, compared with a word;
- `not <any of these>`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_NAME = r"[a-z][a-z0-9_]*(?:[:.][a-z0-9_.-]+)?"
_FACT = re.compile(rf"^({_NAME})$")
_AGE = re.compile(rf"^({_NAME})\s+(older|newer)\s+than\s+(\S+)$")
_QUIET = re.compile(r"^(no\s+activity\s+for|activity\s+within)\s+(\S+)$")
_COMPARE = re.compile(rf"^({_NAME})\s*(>=|<=|==|!=|>|<)\s*(\S+)$")


class Facts(Protocol):
    """What a condition reads: the journey at a moment, and the message being answered."""

    def fact_at(self, fact: str) -> datetime | None: ...

    def metric(self, name: str) -> float | None: ...

    def inactive_for(self, now: datetime) -> timedelta: ...


@dataclass(frozen=True)
class Condition:
    """One parsed phrase; `text` is what the playbook said, for messages and docs."""

    text: str
    kind: str
    name: str = ""
    negate: bool = False
    op: str = ""
    value: Any = None
    age: timedelta = timedelta()

    def holds(self, facts: Facts, now: datetime, fields: dict[str, Any] | None = None) -> bool:
        return self._holds(facts, now, fields) != self.negate

    def _holds(self, facts: Facts, now: datetime, fields: dict[str, Any] | None) -> bool:
        if self.kind == "fact":
            return facts.fact_at(self.name) is not None
        if self.kind == "age":
            at = facts.fact_at(self.name)
            if at is None:
                return False
            return now - at >= self.age if self.op == "older" else now - at < self.age
        if self.kind == "quiet":
            return facts.inactive_for(now) >= self.age
        if self.kind == "active":
            return facts.inactive_for(now) < self.age
        got = (fields or {}).get(self.name)
        if got is None and isinstance(self.value, float):
            got = facts.metric(self.name)
        if got is None:
            return False
        if isinstance(self.value, float):
            return isinstance(got, int | float) and _OPS[self.op](float(got), self.value)
        return _OPS[self.op](str(got).lower(), self.value)

    @property
    def fact(self) -> str | None:
        """The fact this condition names, if any (for validation)."""
        return self.name if self.kind in ("fact", "age") else None

    @property
    def metric(self) -> str | None:
        return self.name if self.kind == "compare" and isinstance(self.value, float) else None


def parse_condition(text: str, duration: Callable[[str], timedelta]) -> Condition:
    """Parse one phrase; a ValueError says what was expected, with an example."""
    phrase = " ".join(str(text).split())
    if phrase.startswith("not "):
        inner = parse_condition(phrase[4:], duration)
        return Condition(phrase, inner.kind, inner.name, not inner.negate, inner.op, inner.value, inner.age)
    if m := _QUIET.match(phrase):
        return Condition(phrase, "quiet" if m[1].startswith("no") else "active", age=duration(m[2]))
    if m := _AGE.match(phrase):
        return Condition(phrase, "age", name=m[1], op=m[2], age=duration(m[3]))
    if m := _COMPARE.match(phrase):
        raw = m[3]
        try:
            value: Any = float(raw)
        except ValueError:
            if m[2] not in ("==", "!="):
                raise ValueError(f"{phrase!r}: {m[2]} compares numbers, got {raw!r}") from None
            value = raw.lower()
        return Condition(phrase, "compare", name=m[1], op=m[2], value=value)
    if m := _FACT.match(phrase):
        return Condition(phrase, "fact", name=m[1])
    raise ValueError(
        f"{phrase!r} is not a condition; expected a fact ('kickoff_done', 'not first_login'), an age "
        "('kickoff_done older than 7d'), 'no activity for 3d', 'activity within 7d' or a comparison "
        "('qualified_leads >= 10')"
    )


def all_hold(
    conditions: tuple[Condition, ...], facts: Facts, now: datetime, fields: dict[str, Any] | None = None
) -> bool:
    return all(c.holds(facts, now, fields) for c in conditions)
