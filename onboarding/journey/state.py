"""What an onboarding has learned so far: plain data, carried whole across continue-as-new."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ValidatorFunctionWrapHandler, field_validator

from onboarding.effects import Assignment, Effect, EmailRequest
from onboarding.messages import EmailFeedback, Invite, ProductEvent, Reassign
from onboarding.models import Contact, Contract, StaffMember, Team
from onboarding.playbook import Playbook, Timer

SEEN_KEPT = 1000
"""How many message ids are remembered for deduplication (a redelivery comes within hours)."""


def onboarding_ref(workflow_id: str, first_run_id: str) -> str:
    """The prefix of every key an onboarding writes: its workflow id and first run, so an
    account onboarded again (a new first run) writes new keys."""
    return f"{workflow_id}.{first_run_id[:8]}"


class Interval(BaseModel):
    start: datetime
    end: datetime


class Fired(BaseModel):
    anchor: datetime
    count: int


class Escalation(BaseModel):
    """A human task the journey opened; `problem` names what it is about, so a problem that
    happens again while its task is open counts on that task instead of opening another."""

    id: str
    problem: str
    rule: str
    reason: str
    to: str
    assignee: str
    opened_at: datetime
    occurrences: int = 1
    last_seen_at: datetime | None = None
    resolved_at: datetime | None = None
    kind: Literal["escalation", "task"] = "escalation"
    due_at: datetime | None = None
    """Tasks: when it is due; health turns red only past it."""
    claimed_by: str | None = None
    escalated_up: bool = False


class Person(BaseModel):
    """Someone on the customer's side the plan knows: a contract contact or an invited colleague."""

    name: str
    email: str
    role: str
    steps: list[str] = []


class Kickoff(BaseModel):
    """The agreed kickoff meeting; `sequence` rises on every reschedule (the calendar's SEQUENCE)."""

    at: datetime
    minutes: int
    sequence: int = 0
    invited: bool = False
    """An invitation left the journey (not only deferred): only then is there a meeting to cancel."""


class Scheduled(BaseModel):
    """A reaction with `after`: performed then, if its conditions still hold."""

    at: datetime
    trigger: str
    index: int
    touch_id: str
    fields: dict[str, str | float | bool | None] = {}


class Deferred(BaseModel):
    """An email held back by contact pressure (quiet hours, one per window), sent at `not_before`."""

    not_before: datetime
    email: EmailRequest


class Progress(BaseModel):
    """Everything the onboarding has learned so far; carried across continue-as-new."""

    ref: str
    """The onboarding's identity in every key it writes: workflow id + first run."""
    phase_index: int = 0
    phase_started_at: datetime
    last_activity_at: datetime
    signed_in: bool = False
    """The contract-signed moment has been handled (team known or known to be missing)."""
    facts: dict[str, datetime] = {}
    skipped: list[str] = []
    fired: dict[str, Fired] = {}
    pauses: list[Interval] = []
    paused_at: datetime | None = None
    paused_until: datetime | None = None
    escalations: list[Escalation] = []
    team: Team | None = None
    cs_manager: StaffMember | None = None
    """Who hears about an onboarding nobody could be assigned to (while `team` is None)."""
    contacts: dict[str, Contact] = {}
    """Contacts corrected by a CSM, by role: they win over the contract's."""
    outcome: Literal["active", "completed", "cancelled"] = "active"
    completed_at: datetime | None = None
    check_ins_sent: int = 0
    seq: int = 0
    invites_sent: int = 0
    seen: list[str] = []
    early: list[ProductEvent | EmailFeedback] = []
    """Facts that came before the team was known: applied the moment it is."""
    tickets: list[datetime] = []
    health: str = "green"
    metrics: dict[str, float] = {}
    user_metrics: dict[str, dict[str, float]] = {}
    """Per-user metrics: metric -> product user id -> value."""
    stuck: dict[str, str] = {}
    """Steps someone is stuck on, with their reason."""
    owners: dict[str, str] = {}
    """Steps handed to a person: step id -> their email."""
    people: list[Person] = []
    """Colleagues invited to the plan (contract contacts are on it from the start)."""
    held_invites: list[Invite] = []
    """Invitations outside the customer's domain, waiting for the CSM's approval."""
    kickoff: Kickoff | None = None
    scheduled: list[Scheduled] = []
    deferred: list[Deferred] = []
    last_emailed: dict[str, datetime] = {}
    """Contact pressure: when each address last got an email."""
    deadlines_hit: list[str] = []


SNAPSHOTS_KEPT = 32
"""How many playbook snapshots a worker keeps parsed (a few versions are in flight at once)."""
_snapshots: OrderedDict[str, Playbook] = OrderedDict()
_snapshots_lock = threading.Lock()


def shared_snapshot(raw: Any, parse: ValidatorFunctionWrapHandler) -> Playbook:
    """One parsed Playbook per snapshot content, shared by every run that carries it.

    Every start and continue-as-new carries the whole snapshot: parsing it again per run (its
    conditions included) and keeping a copy per cached run is CPU at every run's start and
    memory while runs wait. Playbooks are never changed in place (a rollout replaces the
    snapshot), so equal content can be one object. Workflow tasks run on several threads."""
    if isinstance(raw, Playbook):
        return raw
    key = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=repr)
    with _snapshots_lock:
        found = _snapshots.get(key)
        if found is None:
            found = _snapshots[key] = parse(raw)
            if len(_snapshots) > SNAPSHOTS_KEPT:
                _snapshots.popitem(last=False)
        _snapshots.move_to_end(key)
        return found


_versions: dict[int, tuple[Playbook, str]] = {}


def snapshot_version(snapshot: Playbook) -> str:
    """`snapshot.version`, hashed once per snapshot object rather than once per run that shows it."""
    known = _versions.get(id(snapshot))
    if known is None or known[0] is not snapshot:
        if len(_versions) >= SNAPSHOTS_KEPT:
            _versions.clear()
        known = _versions[id(snapshot)] = (snapshot, snapshot.version)
    return known[1]


class OnboardingInput(BaseModel):
    """The workflow's one input: the contract and the playbook snapshot it runs; on
    continue-as-new also the progress and the effects not yet performed."""

    contract: Contract
    playbook: Playbook
    progress: Progress | None = None
    pending: list[Effect] = []
    chat: bool = False
    """Post tasks and escalations to the team's chat (Slack or Teams was configured at the start)."""
    crm: bool = False
    """Write the phase and status back to the CRM deal the onboarding started from."""

    @field_validator("playbook", mode="wrap")
    @classmethod
    def _shared(cls, raw: Any, parse: ValidatorFunctionWrapHandler) -> Playbook:
        return shared_snapshot(raw, parse)


class Due(BaseModel):
    """One timer occurrence that is due (or next due)."""

    key: str
    touch_id: str
    at: datetime
    timer: Timer


# ---- what the engine itself tells the journey ---------------------------------------------


class TeamAssigned(BaseModel):
    """The roster answered: a team, or why there is none yet."""

    assignment: Assignment


class OwnerFound(BaseModel):
    """A reassignment's new CSM, as the roster knows them."""

    action: Reassign
    staff: StaffMember


class EmailFailed(BaseModel):
    """An email that will never go: the provider refused it, or it cannot be rendered or sent."""

    key: str
    template: str
    role: str
    refused: bool
    reason: str


EngineMessage = TeamAssigned | OwnerFound | EmailFailed
DAY = timedelta(days=1)
