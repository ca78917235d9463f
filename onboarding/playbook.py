"""Segment playbooks: what CS ops tune without code, loaded from playbooks/*.yaml and validated.

A playbook speaks in *facts*: things that became true for a customer, whoever made them so.
Product events (`first_login`, `key_action`, ...), CSM actions (`kickoff_done`,
`module:<id>`, `step:<id>`, `touch:personal_welcome`), the survey (`survey_answered`,
`goal_reached`) and `success` (criteria met or the survey's goal reached). Phases end on
facts, steps are done by a fact, and timer rules are silenced by facts (`unless`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from onboarding.messages import EVENT_NAMES, HumanTouchKind
from onboarding.models import Role, Segment, problems

PLAYBOOK_DIR = Path(__file__).resolve().parent.parent / "playbooks"

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: Any) -> Any:
    """'30s', '90m', '24h', '3d', '2w' -> timedelta; anything else is left to pydantic (ISO 8601, seconds)."""
    if isinstance(value, str) and not value.startswith("P"):
        match = _DURATION.match(value.strip())
        if not match:
            raise ValueError(f"expected a duration like '24h', '3d' or '2w', got {value!r}")
        return timedelta(**{_UNITS[match[2]]: float(match[1])})
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Anchor = Literal["signed", "phase_start", "last_activity"]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)]

ENGINE_TEMPLATES = frozenset({"escalation", "colleague_invitation"})
CSM_FACTS = ("kickoff_done", "success_criteria_met", "survey_answered", "goal_reached", "success")
HUMAN_TOUCHES: tuple[str, ...] = HumanTouchKind.__args__  # type: ignore[attr-defined]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Send(Rule):
    template: Id
    to: Role


class Escalate(Rule):
    to: Literal["csm", "cs_manager", "implementation_specialist"]
    reason: str = Field(min_length=1, max_length=300)


class Offset(Rule):
    after: Duration
    since: Anchor = "phase_start"


class Timer(Offset):
    """A nudge, reminder or escalation: fires `after` the anchor unless one of `unless` happened.

    With `every`, it repeats (a weekly check-in agenda) for as long as its scope lasts.
    Anchored on `last_activity`, it re-arms each time the customer does something.
    """

    id: Id
    every: Duration | None = Field(None, ge=timedelta(seconds=1))
    times: int | None = Field(None, ge=1, description="with every: how many in all")
    unless: tuple[str, ...] = ()
    send: Send | None = None
    escalate: Escalate | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Timer:
        if not (self.send or self.escalate):
            raise ValueError("a timer needs 'send', 'escalate' or both")
        if self.times and not self.every:
            raise ValueError("'times' needs 'every'")
        return self

    @property
    def occurrences(self) -> int | None:
        """How many times it may fire; None for as long as its scope lasts."""
        return self.times if self.every else 1


class Step(Rule):
    id: Id
    title: str = Field(min_length=1, max_length=200)
    role: Role
    skippable: bool = False
    required: bool = Field(True, description="false: tracked and nudged, but never holds the phase")
    done_when: str | None = Field(None, description="the fact that completes it; default step:<id>")

    @property
    def fact(self) -> str:
        return self.done_when or f"step:{self.id}"


class Phase(Rule):
    id: Id
    title: str = Field(min_length=1, max_length=200)
    planned: Duration = Field(description="how long the plan gives this phase")
    on_enter: tuple[Send, ...] = ()
    on_exit: tuple[Send, ...] = Field((), description="a milestone celebration when the phase ends")
    steps: tuple[Step, ...] = ()
    exit_when: tuple[str, ...] = Field((), description="facts that must all hold to end the phase")
    ends: Offset | None = Field(None, description="the phase lasts at least until then")
    timers: tuple[Timer, ...] = ()


class Module(Rule):
    id: Id
    title: str = Field(min_length=1, max_length=200)


class Reactions(Rule):
    """Touches sent when something happens, whatever the phase."""

    signed: tuple[Send, ...] = ()
    kickoff_done: tuple[Send, ...] = ()
    module_completed: tuple[Send, ...] = ()
    success: tuple[Send, ...] = ()


class SupportLoad(Rule):
    tickets: int = Field(ge=1)
    within: Duration


class RedFlags(Rule):
    """Signals that a person should reach out: escalations raised the moment they appear."""

    goal_not_reached: Escalate | None = None
    low_csat: Escalate | None = None
    low_csat_at_most: int = Field(2, ge=1, le=5)
    support_load: Escalate | None = None
    support_load_threshold: SupportLoad = SupportLoad(tickets=3, within=timedelta(days=7))


class HealthRules(Rule):
    yellow_after_inactive: Duration
    red_after_inactive: Duration


class CheckIns(Rule):
    every: Duration
    times: int | None = Field(None, ge=1, description="None: for as long as the customer stays")


class Playbook(Rule):
    segment: Segment
    title: str
    touch_model: Literal["tech_touch", "low_touch", "high_touch"]
    length: Duration = Field(description="the standard length of the whole onboarding")
    modules: tuple[Module, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)
    timers: tuple[Timer, ...] = Field((), description="rules that run across every phase (SLAs)")
    reactions: Reactions = Reactions()
    red_flags: RedFlags = RedFlags()
    health: HealthRules
    check_ins: tuple[CheckIns, ...] = Field(min_length=1)
    post_onboarding_template: Id = "check_in"

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)

    def module_ids(self) -> list[str]:
        return [m.id for m in self.modules]

    def step(self, step_id: str) -> Step | None:
        return next((s for p in self.phases for s in p.steps if s.id == step_id), None)

    def templates(self) -> set[str]:
        sends = [s for p in self.phases for s in (*p.on_enter, *p.on_exit)]
        sends += [t.send for t in self.all_timers() if t.send]
        r = self.reactions
        sends += [*r.signed, *r.kickoff_done, *r.module_completed, *r.success]
        return {s.template for s in sends} | {self.post_onboarding_template} | ENGINE_TEMPLATES

    def all_timers(self) -> Iterable[Timer]:
        yield from self.timers
        for p in self.phases:
            yield from p.timers

    def known_facts(self) -> set[str]:
        return (
            set(EVENT_NAMES)
            | set(CSM_FACTS)
            | {f"touch:{t}" for t in HUMAN_TOUCHES}
            | {f"module:{m.id}" for m in self.modules}
            | {f"step:{s.id}" for p in self.phases for s in p.steps}
        )


class PlaybookError(ValueError):
    """A playbook that cannot run, with every problem as `file: path: message`."""


def _fact_ok(fact: str, known: set[str]) -> bool:
    return fact in known or (fact.startswith("key_action:") and len(fact) > len("key_action:"))


def _references(pb: Playbook, templates: set[str] | None) -> list[tuple[str, str]]:
    """Rules the schema alone cannot express: references, reachability, uniqueness."""
    found: list[tuple[str, str]] = []
    known = pb.known_facts()
    facts_hint = "an event name, kickoff_done, success, module:<id>, step:<id>, touch:<kind> or key_action:<name>"

    def check_fact(where: str, fact: str) -> None:
        if not _fact_ok(fact, known):
            found.append((where, f"unknown fact {fact!r} (expected {facts_hint})"))

    def check_unique(where: str, ids: list[str]) -> None:
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            found.append((where, f"duplicate id(s): {', '.join(dupes)}"))

    check_unique("phases", [p.id for p in pb.phases])
    check_unique("modules", [m.id for m in pb.modules])
    check_unique("phases[*].steps", [s.id for p in pb.phases for s in p.steps])
    check_unique("timers", [t.id for t in pb.timers])
    for t_i, t in enumerate(pb.timers):
        if t.since == "phase_start":
            found.append((f"timers[{t_i}].since", "a playbook-wide timer cannot be anchored on phase_start"))
        for u in t.unless:
            check_fact(f"timers[{t_i}].unless", u)
    for p_i, p in enumerate(pb.phases):
        at = f"phases[{p_i}]"
        check_unique(f"{at}.timers", [t.id for t in p.timers])
        for s_i, s in enumerate(p.steps):
            check_fact(f"{at}.steps[{s_i}].done_when", s.fact)
        for f in p.exit_when:
            check_fact(f"{at}.exit_when", f)
        for t_i, t in enumerate(p.timers):
            for u in t.unless:
                check_fact(f"{at}.timers[{t_i}].unless", u)
        if not (p.steps or p.exit_when or p.ends):
            found.append((at, "the phase can never end: give it steps, exit_when or ends"))
    last = len(pb.phases) - 1
    if "success" not in pb.phases[last].exit_when:
        found.append((f"phases[{last}].exit_when", "the last phase must end on 'success'"))
    if templates is not None:
        for name in sorted(pb.templates() - templates):
            found.append(("templates", f"template {name!r} does not exist in templates/"))
    for c_i, c in enumerate(pb.check_ins[:-1]):
        if c.times is None:
            found.append((f"check_ins[{c_i}].times", "only the last check-in stage may repeat forever"))
    if pb.check_ins[-1].times is not None:
        last_stage = f"check_ins[{len(pb.check_ins) - 1}].times"
        found.append((last_stage, "the last stage repeats until cancelled: leave out times"))
    return found


def parse(data: Any, source: str, templates: set[str] | None = None) -> Playbook:
    """Validate raw playbook data; every problem is reported, each as `source: path: problem`."""
    try:
        pb = Playbook.model_validate(data)
    except ValidationError as e:
        raise PlaybookError("\n".join(f"{source}: {line}" for line in problems(e))) from None
    found = _references(pb, templates)
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
