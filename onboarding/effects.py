"""What the workflow asks the outside world to do: the activity names and their messages.

Workflows call activities by these names, so workflow code never imports the modules that
do I/O. Every message carries a deterministic `key` (workflow id + touch or sequence id,
never an attempt number): the activity that receives it twice does the work once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from onboarding.models import Segment, Team

SEND_EMAIL = "send_email"
RECORD_TIMELINE = "record_timeline"
OPEN_ESCALATION = "open_escalation"
RESOLVE_ESCALATION = "resolve_escalation"
ASSIGN_TEAM = "assign_team"
FIND_STAFF = "find_staff"

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
]


class Recipient(BaseModel):
    role: str
    name: str
    email: str


class EmailRequest(BaseModel):
    key: str
    workflow_id: str
    account_id: str
    template: str
    locale: str
    to: Recipient
    context: dict[str, Any]
    at: datetime


class TimelineEntry(BaseModel):
    key: str
    account_id: str
    at: datetime
    kind: TimelineKind
    name: str
    actor: str
    to: str | None = None
    detail: str = ""


class EscalationRequest(BaseModel):
    key: str
    workflow_id: str
    account_id: str
    rule: str
    reason: str
    to: str
    assignee: str
    opened_at: datetime


class ResolveRequest(BaseModel):
    key: str
    account_id: str
    by: str
    note: str
    at: datetime


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


class Assignment(BaseModel):
    """The team for a new onboarding; `over_capacity` says why a CS manager must look, if they must."""

    team: Team
    over_capacity: str | None = None
