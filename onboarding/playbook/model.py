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
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from onboarding.models import Role, Segment
from onboarding.playbook.settings import (
    CheckIns,
    Criterion,
    Handover,
    HealthRules,
    Overdue,
    Pressure,
    RedFlags,
)
from onboarding.playbook.terms import Conditions, Duration, Escalate, Id, Localized, Rule, Send, Task


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


class Mapping(Rule):
    """Where the ids of the version before went: renamed (old -> new id) or removed (old -> null).

    A rollout maps each onboarding's state by id; an id the state holds that this version
    neither has nor maps here is refused, with its name, instead of being guessed."""

    phases: dict[Id, Id] = Field({}, description="a removed phase must name the phase its onboardings go on in")
    steps: dict[Id, Id | None] = Field(default_factory=dict)
    modules: dict[Id, Id | None] = Field(default_factory=dict)


class Variant(Rule):
    """An A/B test: this share of new onboardings in the segment follows another playbook file."""

    name: Id
    share: float = Field(gt=0, lt=1, description="0.5: half of new onboardings, picked by account id")
    playbook: str = Field(min_length=1, max_length=200, description="the variant's file, beside this one")


class Playbook(Rule):
    segment: Segment
    title: str
    label: str | None = Field(
        None, max_length=60, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._:-]*$", description="a human name for this version"
    )
    mapping: Mapping = Mapping()
    variants: tuple[Variant, ...] = Field((), description="A/B tests; the rest of new onboardings follow this file")
    variant: Id | None = Field(None, description="set by the engine: the variant this snapshot is (None: control)")
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
    def _variants_fit(self) -> Playbook:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names) or "control" in names:
            raise ValueError("variants: each needs its own name, and 'control' names this playbook")
        if sum(v.share for v in self.variants) >= 1:
            raise ValueError("variants: the shares add up to 1 or more; leave some onboardings on this playbook")
        return self

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
