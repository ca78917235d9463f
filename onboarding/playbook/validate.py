"""Loading a playbook file and every rule the schema alone cannot check, as `file: path: problem`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from onboarding.messages import EVENT_NAMES, HumanTouchKind
from onboarding.models import LOCALES, Segment, problems
from onboarding.playbook.model import Does, Playbook, Timer
from onboarding.playbook.terms import ANCHORS, Send

PLAYBOOK_DIR = Path(__file__).resolve().parent.parent.parent / "playbooks"
ENGINE_TEMPLATES = frozenset({"escalation", "task", "colleague_invitation"})
CSM_FACTS = ("kickoff_done", "success_criteria_met", "survey_answered", "goal_reached", "success")
ENGINE_FACTS = ("signed", "overdue", "kickoff_scheduled", "paused", "resumed")
HUMAN_TOUCHES: tuple[str, ...] = HumanTouchKind.__args__  # type: ignore[attr-defined]
FACTS_HINT = (
    "an event name, kickoff_done, success, signed, overdue, module:<id>, step:<id>, phase:<id>, "
    "criterion:<id>, touch:<kind> or key_action:<name>"
)


class PlaybookError(ValueError):
    """A playbook that cannot run, with every problem as `file: path: message`."""


def known_facts(pb: Playbook) -> set[str]:
    return (
        set(EVENT_NAMES)
        | set(CSM_FACTS)
        | set(ENGINE_FACTS)
        | {f"touch:{t}" for t in HUMAN_TOUCHES}
        | {f"module:{m.id}" for m in pb.modules}
        | {f"step:{s.id}" for p in pb.phases for s in p.steps}
        | {f"phase:{p.id}" for p in pb.phases}
        | {f"criterion:{c.id}" for c in pb.success_criteria}
    )


def fact_ok(fact: str, known: set[str]) -> bool:
    return fact in known or (fact.startswith("key_action:") and len(fact) > len("key_action:"))


def templates_of(pb: Playbook) -> set[str]:
    sends: list[Send] = [s for p in pb.phases for s in (*p.on_enter, *p.on_exit)]
    sends += [d.send for _, d in _doers(pb) if d.send]
    sends += [p.deadline.send for p in pb.phases if p.deadline and p.deadline.send]
    if pb.overdue and pb.overdue.send:
        sends.append(pb.overdue.send)
    return {s.template for s in sends} | {pb.post_onboarding_template} | ENGINE_TEMPLATES


def _doers(pb: Playbook) -> Iterator[tuple[str, Does]]:
    """Every rule that sends, escalates or opens a task, with where it is."""
    for i, t in enumerate(pb.timers):
        yield f"timers[{i}]", t
    for p_i, p in enumerate(pb.phases):
        for t_i, t in enumerate(p.timers):
            yield f"phases[{p_i}].timers[{t_i}]", t
    for trigger, reactions in pb.reactions:
        for r_i, r in enumerate(reactions):
            yield f"reactions.{trigger}[{r_i}]", r


def _localized_texts(pb: Playbook) -> Iterator[tuple[str, dict[str, str]]]:
    for m_i, m in enumerate(pb.modules):
        yield f"modules[{m_i}].title", m.title
    for p_i, p in enumerate(pb.phases):
        yield f"phases[{p_i}].title", p.title
        for s_i, s in enumerate(p.steps):
            yield f"phases[{p_i}].steps[{s_i}].title", s.title
        if p.deadline and p.deadline.escalate:
            yield f"phases[{p_i}].deadline.escalate.reason", p.deadline.escalate.reason
    for where, d in _doers(pb):
        if d.escalate:
            yield f"{where}.escalate.reason", d.escalate.reason
        if d.task:
            yield f"{where}.task.title", d.task.title
    for c_i, c in enumerate(pb.success_criteria):
        yield f"success_criteria[{c_i}].title", c.title
    for name, flag in pb.red_flags:
        if flag is not None and hasattr(flag, "reason"):
            yield f"red_flags.{name}.reason", flag.reason
    if pb.overdue and pb.overdue.escalate:
        yield "overdue.escalate.reason", pb.overdue.escalate.reason


def _check_timer(
    where: str, t: Timer, phase_ids: list[str], scoped: bool, check_fact: Any
) -> Iterator[tuple[str, str]]:
    if t.since not in ANCHORS:
        check_fact(f"{where}.since", t.since)
    elif t.since == "phase_start" and not scoped and not t.during:
        yield f"{where}.since", "a playbook-wide timer cannot start at phase_start unless it names its phases (during)"
    for d in t.during:
        if d not in phase_ids:
            yield f"{where}.during", f"unknown phase {d!r}; phases: {', '.join(phase_ids)}"
    if scoped and t.during:
        yield f"{where}.during", "a phase's timer lives in its phase: 'during' is for playbook-wide timers"
    if t.every and t.for_ is not None and t.for_ < t.after:
        yield f"{where}.for", "the cadence would end before its first occurrence: 'for' must be at least 'after'"


def references(pb: Playbook, templates: set[str] | None, locales: set[str] | None) -> list[tuple[str, str]]:
    """Rules the schema alone cannot express: references, reachability, uniqueness, locales."""
    found: list[tuple[str, str]] = []
    known = known_facts(pb)
    phase_ids = [p.id for p in pb.phases]

    def check_fact(where: str, fact: str) -> None:
        if not fact_ok(fact, known):
            found.append((where, f"unknown fact {fact!r} (expected {FACTS_HINT})"))

    def check_unique(where: str, ids: list[str]) -> None:
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            found.append((where, f"duplicate id(s): {', '.join(dupes)}"))

    check_unique("phases", phase_ids)
    check_unique("modules", [m.id for m in pb.modules])
    check_unique("phases[*].steps", [s.id for p in pb.phases for s in p.steps])
    check_unique("timers", [t.id for t in pb.timers])
    check_unique("success_criteria", [c.id for c in pb.success_criteria])
    for t_i, t in enumerate(pb.timers):
        found += _check_timer(f"timers[{t_i}]", t, phase_ids, False, check_fact)
    for where, d in _doers(pb):
        for c in (*d.when, *(d.unless if isinstance(d, Timer) else ())):
            if c.fact:
                check_fact(f"{where}.{'when' if c in d.when else 'unless'}", c.fact)
    for p_i, p in enumerate(pb.phases):
        at = f"phases[{p_i}]"
        check_unique(f"{at}.timers", [t.id for t in p.timers])
        for t_i, t in enumerate(p.timers):
            found += _check_timer(f"{at}.timers[{t_i}]", t, phase_ids, True, check_fact)
        for s_i, s in enumerate(p.steps):
            check_fact(f"{at}.steps[{s_i}].done_when", s.fact)
        for f in p.exit_when:
            check_fact(f"{at}.exit_when", f)
        for key, offset in (("ends", p.ends), ("deadline", p.deadline)):
            if offset and offset.since not in ANCHORS:
                check_fact(f"{at}.{key}.since", offset.since)
        if p.ends and p.deadline and p.deadline.since == p.ends.since and p.deadline.after < p.ends.after:
            found.append((f"{at}.deadline", "the deadline comes before the phase's minimum end ('ends')"))
        if not (p.steps or p.exit_when or p.ends or (p.deadline and p.deadline.move_on)):
            found.append((at, "the phase can never end: give it steps, exit_when, ends or a deadline that moves on"))
    for c_i, criterion in enumerate(pb.success_criteria):
        for cond in criterion.when:
            if cond.fact:
                check_fact(f"success_criteria[{c_i}].when", cond.fact)
    last = len(pb.phases) - 1
    if "success" not in pb.phases[last].exit_when:
        found.append((f"phases[{last}].exit_when", "the last phase must end on 'success'"))
    if pb.overdue and pb.overdue.after is not None and pb.overdue.after < timedelta(0):
        found.append(("overdue.after", "expected a positive duration"))
    if templates is not None:
        for name in sorted(templates_of(pb) - templates):
            found.append(("templates", f"template {name!r} does not exist in templates/"))
    if locales:
        for where, texts in _localized_texts(pb):
            missing = sorted(locales - set(texts))
            if missing:
                found.append(
                    (
                        where,
                        f"missing the text in {', '.join(missing)} (the templates speak {', '.join(sorted(locales))})",
                    )
                )
    for c_i, ci in enumerate(pb.check_ins[:-1]):
        if ci.times is None:
            found.append((f"check_ins[{c_i}].times", "only the last check-in stage may repeat forever"))
    if pb.check_ins[-1].times is not None:
        found.append(
            (f"check_ins[{len(pb.check_ins) - 1}].times", "the last stage repeats until cancelled: leave out times")
        )
    return found


def parse(data: Any, source: str, templates: set[str] | None = None) -> Playbook:
    """Validate raw playbook data; every problem is reported, each as `source: path: problem`.

    Checked against the templates, every text people read must be given in each locale they
    speak. A file that says nothing of contact pressure gets the default (one email a minute
    per person)."""
    if isinstance(data, dict):
        data = {**data, "pressure": data.get("pressure") or {}}
    try:
        pb = Playbook.model_validate(data)
    except ValidationError as e:
        lines = (line.replace("\n", "\\n") for line in problems(e))  # a key with a line break stays one line
        raise PlaybookError("\n".join(f"{source}: {line}" for line in lines)) from None
    found = references(pb, templates, set(LOCALES) if templates is not None else None)
    if found:
        raise PlaybookError("\n".join(f"{source}: {where}: {msg}" for where, msg in found))
    return pb


def load(path: Path, templates: set[str] | None = None) -> Playbook:
    """Load and validate one playbook file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise PlaybookError(f"{path}: not valid YAML: {e}") from None
    except OSError as e:
        raise PlaybookError(f"{path}: cannot read: {e.strerror}") from None
    return parse(data, str(path), templates)


def for_segment(segment: Segment, templates: set[str] | None = None) -> Playbook:
    return load(PLAYBOOK_DIR / f"{segment}.yaml", templates)


def collisions(pb: Playbook) -> list[str]:
    """Touches that can reach the same person at the same moment, as `path and path: ...`.

    Found without running anything: the sends of one reaction, a phase's exit and the next
    phase's entry, and timers with the same start and delay (a timer of the first phase counts
    from signing too). Contact pressure then spaces them; the warning says so."""
    moments: dict[tuple[str, str], list[str]] = {}

    def at(moment: str, role: str, where: str) -> None:
        moments.setdefault((moment, role), []).append(where)

    for trigger, reactions in pb.reactions:
        for r_i, r in enumerate(reactions):
            if r.send and not r.after and not r.when:
                at(f"on {trigger}", r.send.to, f"reactions.{trigger}[{r_i}]")
    for p_i, p in enumerate(pb.phases):
        nxt = pb.phases[p_i + 1] if p_i + 1 < len(pb.phases) else None
        for s_i, s in enumerate(p.on_exit):
            at(f"when {p.id} ends", s.to, f"phases[{p_i}].on_exit[{s_i}]")
        for s_i, s in enumerate(nxt.on_enter if nxt else ()):
            at(f"when {p.id} ends", s.to, f"phases[{p_i + 1}].on_enter[{s_i}]")
        for t_i, t in enumerate(p.timers):
            since = "signed" if p_i == 0 and t.since == "phase_start" else t.since
            scope = "" if since == "signed" else f" of {p.id}"
            if t.send and not t.when:
                at(f"{_span(t.after)} after {since}{scope}", t.send.to, f"phases[{p_i}].timers[{t_i}]")
    for t_i, t in enumerate(pb.timers):
        if t.send and not t.when:
            at(f"{_span(t.after)} after {t.since}", t.send.to, f"timers[{t_i}]")
    window = pb.pressure.window if pb.pressure else None
    then = f"; the second waits {_span(window)} (pressure.window)" if window else ""
    return [
        f"{' and '.join(where)}: both email the {role} {moment}{then}"
        for (moment, role), where in moments.items()
        if len(where) > 1
    ]


def _span(d: timedelta) -> str:
    hours = d.total_seconds() / 3600
    return f"{hours / 24:g}d" if hours >= 24 and hours % 24 == 0 else f"{hours:g}h"
