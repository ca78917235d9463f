"""What the journey asks the outside world to do: the effects `apply` returns, as activity inputs.

Every effect carries a deterministic `key` (the onboarding's ref + a touch or sequence id,
never an attempt number): the activity that receives it twice does the work once. The ref
is the workflow id plus its first run, so an account onboarded again after a cancellation
gets new keys and its emails go out again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from onboarding.models import Segment, StaffMember, Team

TimelineKind = Literal[
    "email",
    "escalation",
    "task",
    "phase",
    "health",
    "paused",
    "resumed",
    "completed",
    "cancelled",
    "event",
    "action",
    "deferred",
    "merged",
]


class Recipient(BaseModel):
    role: str
    name: str
    email: str
    locale: str = "en"
    """The language this person reads: the contract's for the customer, their own for staff."""
    timezone: str = "UTC"


class CalendarInvite(BaseModel):
    """A meeting to attach as an .ics: the same `uid` every time, `sequence` raised on each change."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    method: Literal["REQUEST", "CANCEL"]
    summary: str
    organizer: Recipient


class EmailRequest(BaseModel):
    key: str
    workflow_id: str
    account_id: str
    template: str
    locale: str
    to: Recipient
    context: dict[str, Any]
    at: datetime
    seq: int = 0
    """The journey's order: the email's timeline row sorts by it among rows of the same moment."""
    calendar: CalendarInvite | None = None


class TimelineEntry(BaseModel):
    """One row of the account's timeline; `data` holds its facts as fields (scores, ids, names)."""

    key: str
    account_id: str
    at: datetime
    kind: TimelineKind
    name: str
    actor: str
    to: str | None = None
    detail: str = ""
    data: dict[str, Any] = {}
    seq: int = 0


class EscalationRequest(BaseModel):
    """Open a human task (once per key)."""

    key: str
    workflow_id: str
    account_id: str
    rule: str
    reason: str
    to: str
    assignee: str
    opened_at: datetime
    seq: int = 0
    kind: Literal["escalation", "task"] = "escalation"
    due_at: datetime | None = None


class ClaimRequest(BaseModel):
    """An open human task has a new assignee: claimed by someone, or gone up to the CS manager."""

    key: str
    account_id: str
    assignee: str
    by: str
    at: datetime


class EscalationRepeat(BaseModel):
    """The problem behind an open escalation happened again: count it on the same task."""

    key: str
    account_id: str
    occurrences: int
    at: datetime


class ResolveRequest(BaseModel):
    key: str
    account_id: str
    by: str
    note: str
    at: datetime


class CancelRequest(BaseModel):
    """The onboarding is cancelled: close its open human tasks as cancelled and mark every email
    of it not yet handed to the provider as cancelled, so a retry or a recovering provider sends nothing."""

    workflow_id: str
    key_prefix: str
    account_id: str
    by: str
    reason: str
    at: datetime
    keep: list[str] = []
    """Keys of the emails the cancellation itself sends (the exit interview): they still go."""


class RecordBatch(BaseModel):
    """What the records lane writes in one go (one local activity), in this order: timeline rows,
    tasks opened, repeats counted, claims, resolutions, a cancellation."""

    timeline: list[TimelineEntry] = []
    opened: list[EscalationRequest] = []
    repeats: list[EscalationRepeat] = []
    claims: list[ClaimRequest] = []
    resolved: list[ResolveRequest] = []
    cancels: list[CancelRequest] = []


Effect = (
    EmailRequest | TimelineEntry | EscalationRequest | EscalationRepeat | ResolveRequest | ClaimRequest | CancelRequest
)


class AssignRequest(BaseModel):
    """Who should work on a new onboarding; also what the records need about the account."""

    workflow_id: str
    account_id: str
    company: str
    segment: Segment
    locale: str
    acv: Decimal
    employees: int
    signed_at: datetime
    wait_for_staff: bool = False
    """False: answer at once, unassigned if nobody fits. True: retry (a retryable error) until someone fits."""


class Assignment(BaseModel):
    """The team for a new onboarding, or why there is none yet.

    `over_capacity` says why a CS manager must look although a team was found; with no team,
    `unassigned` says why and `cs_manager` is who to tell (None when the roster has no manager)."""

    team: Team | None
    over_capacity: str | None = None
    unassigned: str | None = None
    cs_manager: StaffMember | None = None
