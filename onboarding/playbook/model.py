"""The playbook language: what CS ops write in playbooks/*.yaml, as validated models.

A playbook speaks in *facts*: things that became true for a customer, whoever made them so,
each with the moment it happened. Product events (`first_login`, `key_action`,
`key_action:<name>`), CSM actions (`kickoff_done`, `module:<id>`, `step:<id>`,
`touch:<kind>`), the engine's moments (`signed`, `phase:<id>` when a phase began, `overdue`,
`criterion:<id>`), the survey (`survey_answered`, `goal_reached`) and `success`. Timers start
at a fact (`since`), run while conditions hold (`when`), stop at facts (`unless`); phases end
on facts; reactions answer messages. Texts people read are given per locale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from onboarding.conditions import Condition, parse_condition
from onboarding.models import Role, Segment

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


def _conditions(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(c if isinstance(c, Condition) else parse_condition(str(c), parse_duration) for c in value)
    return value


def _localized(value: Any) -> Any:
    """A plain string is the English text (older playbook snapshots wrote only that)."""
    return {"en": value} if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Conditions = Annotated[
    tuple[Condition, ...],
    BeforeValidator(_conditions),
    PlainSerializer(lambda cs: [c.text for c in cs], return_type=list[str]),
]
Localized = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=300)]], BeforeValidator(_localized)]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)]
StaffRole = Literal["csm", "cs_manager", "implementation_specialist", "ongoing_csm"]
ANCHORS = ("signed", "phase_start", "last_activity")
"""Moments that are not facts: the phase's start (whichever phase) and the last activity."""


def text(texts: dict[str, str], locale: str) -> str:
    """The text in `locale`, else in English (snapshots from before titles had locales)."""
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()))


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Send(Rule):
    template: Id
    to: Role


class Escalate(Rule):
    to: StaffRole
    reason: Localized


class Task(Rule):
    """Work for a person on the vendor's side that is not a problem: health turns red only if overdue."""

    to: StaffRole
    title: Localized
    due: Duration = Field(timedelta(days=1), description="how long after it opens it is due")


class Does(Rule):
    """What a rule does when it fires: send a touch, escalate, open a staff task (any of them)."""

    when: Conditions = Field((), description="only if all these hold at that moment")
    send: Send | None = None
    escalate: Escalate | None = None
    task: Task | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Does:
        if not (self.send or self.escalate or self.task):
            raise ValueError("give 'send', 'escalate' or 'task' (or several)")
        return self


class Offset(Rule):
    after: Duration = timedelta()
    since: str = Field("phase_start", description="a fact, signed, phase_start or last_activity")


class Timer(Does, Offset):
    """A nudge, reminder, escalation, task or cadence: fires `after` the `since` moment.

    With `every`, it repeats; `times` and `for` bound the repeats. A timer in a phase lives
    while its phase does; a playbook-wide one runs across phases (optionally only `during`
    some). `unless` facts switch it off for good; `when` conditions skip one occurrence.
    """

    model_config = ConfigDict(populate_by_name=True)

    id: Id
    every: Duration | None = Field(None, ge=timedelta(seconds=1))
    times: int | None = Field(None, ge=1, description="with every: how many in all")
    for_: Duration | None = Field(None, alias="for", description="with every: only within this long of since")
    during: tuple[Id, ...] = Field((), description="playbook-wide timers: only in these phases")
    unless: Conditions = ()

    @model_validator(mode="after")
    def _bounded_repeat(self) -> Timer:
        if (self.times or self.for_) and not self.every:
            raise ValueError("'times' and 'for' need 'every'")
        return self

    @property
    def occurrences(self) -> int | None:
        """How many times it may fire; None for as long as its scope lasts."""
        if not self.every:
            return 1
        by_span = int((self.for_ - self.after) / self.every) + 1 if self.for_ else None
        counts = [n for n in (self.times, by_span) if n is not None]
        return min(counts) if counts else None


class Step(Rule):
    id: Id
    title: Localized
    role: Role
    skippable: bool = False
    required: bool = Field(True, description="false: tracked and nudged, but never holds the phase")
    done_when: str | None = Field(None, description="the fact that completes it; default step:<id>")

    @property
    def fact(self) -> str:
        return self.done_when or f"step:{self.id}"

    @property
    def confirmable(self) -> bool:
        """A person may mark it done (a step done by a product event or an engine fact is shown only)."""
        return self.fact == f"step:{self.id}"


class Deadline(Offset):
    """When a phase is still open this long after `since`: move on, escalate, or both."""

    move_on: bool = False
    escalate: Escalate | None = None
    send: Send | None = None

    @model_validator(mode="after")
    def _does_something(self) -> Deadline:
        if not (self.move_on or self.escalate or self.send):
            raise ValueError("a deadline needs 'move_on: true', 'escalate' or 'send'")
        return self


class Phase(Rule):
    id: Id
    title: Localized
    planned: Duration = Field(description="how long the plan gives this phase")
    on_enter: tuple[Send, ...] = ()
    on_exit: tuple[Send, ...] = Field((), description="a milestone celebration when the phase ends")
    steps: tuple[Step, ...] = ()
    exit_when: tuple[str, ...] = Field((), description="facts that must all hold to end the phase")
    ends: Offset | None = Field(None, description="the phase lasts at least until then")
    deadline: Deadline | None = Field(None, description="the phase lasts at most until then")
    timers: tuple[Timer, ...] = ()


class Module(Rule):
    id: Id
    title: Localized


def _reaction(value: Any) -> Any:
    """`{template, to}` is shorthand for `{send: {template, to}}`."""
    if isinstance(value, dict) and "template" in value:
        return {"send": value}
    return value


class ReactionRule(Does):
    """An answer to a message; with `after` it waits that long and checks `when` again then."""

    after: Duration = timedelta()


Reaction = Annotated[ReactionRule, BeforeValidator(_reaction)]


class Reactions(Rule):
    """What happens when something happens, whatever the phase; each may carry `when`."""

    signed: tuple[Reaction, ...] = ()
    kickoff_done: tuple[Reaction, ...] = ()
    kickoff_scheduled: tuple[Reaction, ...] = ()
    module_completed: tuple[Reaction, ...] = ()
    step_skipped: tuple[Reaction, ...] = ()
    step_stuck: tuple[Reaction, ...] = ()
    survey_answered: tuple[Reaction, ...] = ()
    paused: tuple[Reaction, ...] = ()
    resumed: tuple[Reaction, ...] = ()
    reassigned: tuple[Reaction, ...] = ()
    cancelled: tuple[Reaction, ...] = ()
    success: tuple[Reaction, ...] = ()


class SupportLoad(Rule):
    tickets: int = Field(ge=1)
    within: Duration


class RedFlags(Rule):
    """Signals that a person should reach out: escalations raised the moment they appear."""

    goal_not_reached: Escalate | None = None
    low_csat: Escalate | None = None
    low_csat_at_most: int = Field(2, ge=1, le=5)
    high_ces: Escalate | None = None
    high_ces_at_least: int = Field(5, ge=1, le=7, description="CES 1-7: the effort it took, 7 = very hard")
    low_nps: Escalate | None = None
    low_nps_at_most: int = Field(6, ge=0, le=10, description="NPS detractors answer 0-6")
    support_load: Escalate | None = None
    support_load_threshold: SupportLoad = SupportLoad(tickets=3, within=timedelta(days=7))


class HealthRules(Rule):
    yellow_after_inactive: Duration
    red_after_inactive: Duration


class CheckIns(Rule):
    every: Duration
    times: int | None = Field(None, ge=1, description="None: for as long as the customer stays")


class Criterion(Rule):
    """A measurable success criterion: it is met the moment its conditions hold."""

    id: Id
    title: Localized
    when: Conditions = Field(min_length=1)


class Overdue(Rule):
    """The whole onboarding passed its standard length without success (fact `overdue`)."""

    after: Duration | None = Field(None, description="default: the playbook's length")
    escalate: Escalate | None = None
    send: Send | None = None


class Handover(Rule):
    """What makes the sales hand-over form complete (then `touch:sales_handover` holds at signing)."""

    requires: tuple[Literal["goals", "stakeholders", "risks", "notes"], ...] = ("goals", "stakeholders")


class Pressure(Rule):
    """How often one person may be emailed, and when: the rest is deferred or merged."""

    window: Duration = Field(timedelta(minutes=1), description="at most one email to a person within this")
    merge_same: bool = Field(True, description="a touch whose template is already waiting is merged into it")
    quiet_from: time | None = Field(None, description="no email from this local time ...")
    quiet_until: time | None = Field(None, description="... until this local time")
    business_days: bool = Field(False, description="emails wait for Monday-Friday in the recipient's zone")

    @model_validator(mode="after")
    def _quiet_pair(self) -> Pressure:
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValueError("give quiet_from and quiet_until together")
        return self


class Mapping(Rule):
    """Where the ids of the version before went: renamed (old -> new id) or removed (old -> null).

    A rollout maps each onboarding's state by id; an id the state holds that this version
    neither has nor maps here is refused, with its name, instead of being guessed."""

    phases: dict[Id, Id] = Field({}, description="a removed phase must name the phase its onboardings go on in")
    steps: dict[Id, Id | None] = {}
    modules: dict[Id, Id | None] = {}


class Playbook(Rule):
    segment: Segment
    title: str
    label: str | None = Field(
        None, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:-]*$", description="a human name for this version"
    )
    mapping: Mapping = Mapping()
    touch_model: Literal["tech_touch", "low_touch", "high_touch"]
    length: Duration = Field(description="the standard length of the whole onboarding")
    modules: tuple[Module, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)
    timers: tuple[Timer, ...] = Field((), description="rules that run across phases (SLAs, cadences)")
    reactions: Reactions = Reactions()
    red_flags: RedFlags = RedFlags()
    health: HealthRules
    check_ins: tuple[CheckIns, ...] = Field(min_length=1)
    post_onboarding_template: Id = "check_in"
    success_criteria: tuple[Criterion, ...] = ()
    overdue: Overdue | None = None
    handover: Handover = Handover()
    pressure: Pressure | None = Field(None, description="None only in snapshots from before it existed")
    claim_within: Duration | None = Field(None, description="an escalation nobody claimed goes up after this")
    self_pause: bool = Field(False, description="customers may pause themselves, without the CSM")
    invite_outside_domain: bool = Field(False, description="customers may invite any address without approval")

    @model_validator(mode="after")
    def _mapping_targets_exist(self) -> Playbook:
        targets = (
            ("phases", self.mapping.phases, {p.id for p in self.phases}),
            ("steps", self.mapping.steps, {s.id for p in self.phases for s in p.steps}),
            ("modules", self.mapping.modules, set(self.module_ids())),
        )
        for what, renames, ids in targets:
            for old, new in renames.items():
                if new is not None and new not in ids:
                    raise ValueError(f"mapping.{what}.{old}: this playbook has no {what[:-1]} {new!r}")
        return self

    @property
    def content_hash(self) -> str:
        """12 hex digits of the SHA-256 of everything but the label: equal rules, equal hash.

        Computed each time (a cached value would survive `model_copy(update=...)`)."""
        content = json.dumps(self.model_dump(mode="json", exclude={"label"}), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(content.encode()).hexdigest()[:12]

    @property
    def version(self) -> str:
        """`label@hash` (or the hash alone): what the search attribute OnboardingPlaybook shows."""
        return f"{self.label}@{self.content_hash}" if self.label else self.content_hash

    def phase(self, phase_id: str) -> Phase:
        return next(p for p in self.phases if p.id == phase_id)

    def module_ids(self) -> list[str]:
        return [m.id for m in self.modules]

    def step(self, step_id: str) -> Step | None:
        return next((s for p in self.phases for s in p.steps if s.id == step_id), None)

    def all_timers(self) -> Iterable[Timer]:
        yield from self.timers
        for p in self.phases:
            yield from p.timers

    def all_reactions(self) -> Iterable[tuple[str, Does]]:
        for trigger in Reactions.model_fields:
            for reaction in getattr(self.reactions, trigger):
                yield trigger, reaction
