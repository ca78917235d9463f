"""Every message an onboarding takes, declared once: product events, email feedback, CSM actions.

The catalogue at the bottom is the one list the workflow's handlers, the admin script, the
simulator and the intake are driven from. A message's `id` is chosen by whoever sends it: a
redelivered event or a retried action carries the same id and is applied once (for actions
the id is also the Temporal update id). Models forbid unknown fields, so a typo is an error
that names the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from onboarding.models import CustomerRole, Email, Name, Strict, Text, Timestamp

MessageId = str | None

EventName = Literal[
    "first_login",
    "teammate_invited",
    "integration_connected",
    "key_action",
    "support_ticket",
    "survey_answer",
    "email_engaged",
    "metric",
]
EVENT_NAMES: tuple[str, ...] = EventName.__args__  # type: ignore[attr-defined]

_ID = Field(None, min_length=1, max_length=200, description="chosen by the sender; a repeat is applied once")


class ProductEvent(Strict):
    """Something the customer did in the product, reported by telemetry or by hand."""

    name: EventName
    id: str | None = _ID
    at: Timestamp | None = None
    action: str | None = Field(None, max_length=100, pattern=r"^[a-z0-9_.-]+$")
    csat: int | None = Field(None, ge=1, le=5)
    ces: int | None = Field(None, ge=1, le=7)
    nps: int | None = Field(None, ge=0, le=10)
    goal_reached: bool | None = None
    metric: str | None = Field(None, max_length=60, pattern=r"^[a-z][a-z0-9_]*$", description="a metric event's name")
    value: float | None = Field(None, ge=-1e12, le=1e12, allow_inf_nan=False)
    user: str | None = Field(None, max_length=100, description="per-user metrics: the product's user id")

    @model_validator(mode="after")
    def _fields_fit_name(self) -> ProductEvent:
        if self.name == "key_action" and not self.action:
            raise ValueError("action: a key_action event needs the action's name")
        if self.name == "survey_answer" and self.goal_reached is None:
            raise ValueError("goal_reached: a survey_answer event needs goal_reached (true or false)")
        if self.name != "survey_answer" and (
            self.csat or self.ces or self.nps is not None or self.goal_reached is not None
        ):
            raise ValueError("csat, ces, nps and goal_reached belong to survey_answer events only")
        if self.name == "metric" and (self.metric is None or self.value is None):
            raise ValueError(
                "metric: a metric event needs the metric's name and its value, e.g. qualified_leads and 12"
            )
        if self.name != "metric" and (self.metric or self.value is not None or self.user):
            raise ValueError("metric, value and user belong to metric events only")
        return self


class EmailFeedback(Strict):
    """What the email provider learned about a sent touch (from its event webhook)."""

    kind: Literal["bounce", "spam_report", "unsubscribe", "open", "click"]
    id: str | None = _ID
    template: str | None = Field(None, max_length=60)
    role: str | None = Field(None, max_length=40, description="the recipient's role, never the address")


# ---- CSM actions (updates) -----------------------------------------------------------------


CUSTOMER = "customer:"
"""`by` of an action a person on the customer's side took (from the portal): customer:<email>."""


class Action(Strict):
    by: str = Field("csm", min_length=1, max_length=300)
    id: str | None = _ID

    @property
    def customer(self) -> str | None:
        """The customer's email address when a person on the customer's side acted."""
        return self.by.removeprefix(CUSTOMER) if self.by.startswith(CUSTOMER) else None


class KickoffDone(Action):
    notes: Text = ""


class ModuleCompleted(Action):
    module: str = Field(min_length=1, max_length=100)


class SuccessCriteriaMet(Action):
    evidence: Text = Field(min_length=1)


class StepAction(Action):
    step: str = Field(min_length=1, max_length=100)


class CompleteStep(StepAction):
    pass


class SkipStep(StepAction):
    pass


class Invite(StepAction):
    name: Name
    email: Email
    role: CustomerRole = "end_user"


class Pause(Action):
    reason: Text = Field(min_length=1)
    until: Timestamp | None = None


class Resume(Action):
    pass


class Reassign(Action):
    owner: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$", description="staff id of the new CSM")


class Cancel(Action):
    reason: Literal["churned", "lost", "duplicate", "contract_void", "other"]
    note: Text = ""


HumanTouchKind = Literal["personal_welcome", "sales_handover", "check_in", "training_session", "business_review"]


class HumanTouch(Action):
    """A touch a person did outside the engine (a call, a personal email), recorded so rules see it."""

    touch: HumanTouchKind
    note: Text = ""


class ResolveEscalation(Action):
    escalation: str = Field(min_length=1, max_length=200)
    note: Text = ""


class ClaimEscalation(Action):
    """The person in `by` takes an open escalation or task on."""

    escalation: str = Field(min_length=1, max_length=200)


class ScheduleKickoff(Action):
    """The kickoff's time is agreed (or moved): the champion gets a calendar invitation."""

    at: Timestamp
    minutes: int = Field(60, ge=15, le=480)


class MarkStuck(StepAction):
    """Someone on the customer's side cannot go on with a step: a person must help now."""

    reason: Text = Field(min_length=1)


class HandStep(StepAction):
    """A step is handed to another person already on the plan."""

    to: Email


class RequestPause(Action):
    """The customer asks to pause; the CSM approves unless the playbook allows self-pause."""

    reason: Text = Field(min_length=1)
    until: Timestamp | None = None


class ApproveInvite(Action):
    """The CSM lets an invitation to an address outside the customer's domain go out."""

    email: Email


class CorrectContact(Action):
    """A customer contact's address (and name) corrected: later touches go to the new address."""

    role: CustomerRole
    email: Email
    name: Name | None = None


class ApplyPlaybook(Action):
    """Ops roll a playbook version out to this onboarding in flight (`admin.py playbook rollout`).

    `playbook` is the snapshot as JSON (validated by the journey: this module is below the
    playbook language); `version` is the version it should carry, so a mismatch is refused."""

    playbook: dict[str, Any]
    version: str = Field(min_length=1, max_length=80)


Message = ProductEvent | EmailFeedback | Action


# ---- The catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of message: its Temporal name, its model, how it travels and what it means."""

    name: str
    model: type[Message]
    via: Literal["signal", "update"]
    summary: str


CATALOGUE: tuple[Kind, ...] = (
    Kind("product_event", ProductEvent, "signal", "something the customer did in the product"),
    Kind("email_feedback", EmailFeedback, "signal", "the email provider's report on a sent touch"),
    Kind("kickoff_done", KickoffDone, "update", "the kickoff meeting happened"),
    Kind("module_completed", ModuleCompleted, "update", "a training module is completed"),
    Kind("success_criteria_met", SuccessCriteriaMet, "update", "the customer reached the success criteria"),
    Kind("complete_step", CompleteStep, "update", "a step is done outside the product"),
    Kind("skip_step", SkipStep, "update", "a skippable step is skipped for now"),
    Kind("invite", Invite, "update", "a colleague is invited to a step"),
    Kind("pause", Pause, "update", "nudges and escalations wait; deadlines move"),
    Kind("resume", Resume, "update", "a paused onboarding goes on"),
    Kind("reassign", Reassign, "update", "another CSM owns the onboarding"),
    Kind("cancel", Cancel, "update", "the onboarding ends for good"),
    Kind("log_touch", HumanTouch, "update", "a touch a person did outside the engine"),
    Kind("resolve_escalation", ResolveEscalation, "update", "an escalation is dealt with"),
    Kind("correct_contact", CorrectContact, "update", "a customer contact's address is corrected"),
    Kind("claim_escalation", ClaimEscalation, "update", "someone takes an escalation or task on"),
    Kind("schedule_kickoff", ScheduleKickoff, "update", "the kickoff's time is agreed or moved"),
    Kind("mark_stuck", MarkStuck, "update", "the customer is stuck on a step"),
    Kind("hand_step", HandStep, "update", "a step goes to another person on the plan"),
    Kind("request_pause", RequestPause, "update", "the customer asks to pause"),
    Kind("approve_invite", ApproveInvite, "update", "an invitation outside the customer's domain may go"),
    Kind("apply_playbook", ApplyPlaybook, "update", "another playbook version, rolled out to this onboarding"),
)
BY_NAME: dict[str, Kind] = {k.name: k for k in CATALOGUE}
_BY_MODEL: dict[type[Message], Kind] = {k.model: k for k in CATALOGUE}


def kind_of(message: Message) -> Kind:
    """The catalogue entry of a message, by its exact model."""
    return _BY_MODEL[type(message)]
