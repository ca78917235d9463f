"""Timeline rows and human tasks, each written once however often the activity runs.

The Onboarding row is a projection of the timeline: each entry is applied to it in the same
transaction that first inserts the entry, so a retried batch changes nothing twice. Two
attempts racing on one batch collide on the unique key; the loser rolls back whole and its
retry finds every entry already recorded.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update
from temporalio import activity

from adapters.config import Settings
from adapters.db import HumanTask, Onboarding, OutboxEmail, TimelineEvent, engine, insert_new
from onboarding.effects import (
    CancelRequest,
    ClaimRequest,
    EscalationRepeat,
    EscalationRequest,
    RecordBatch,
    ResolveRequest,
    TimelineEntry,
)

RESPONSE_DUE = timedelta(hours=24)
"""A person should act on an escalation within a day (DOMAIN.md: human touches within 24 hours)."""


class Records:
    """The engine's records of each onboarding: timeline, human tasks, the onboarding row."""

    def __init__(self, settings: Settings) -> None:
        self.engine: Engine = engine(settings.database_url)

    @activity.defn
    def record(self, batch: RecordBatch) -> None:
        """Everything the records lane has queued, in the journey's order; each part once."""
        if batch.timeline:
            self.record_timeline(batch.timeline)
        for opened in batch.opened:
            self.open_escalation(opened)
        for repeat in batch.repeats:
            self.repeat_escalation(repeat)
        for claim in batch.claims:
            self.claim_escalation(claim)
        for resolved in batch.resolved:
            self.resolve_escalation(resolved)
        for cancel in batch.cancels:
            self.cancel_onboarding(cancel)

    @activity.defn
    def record_timeline(self, entries: list[TimelineEntry]) -> int:
        """Insert the entries not yet recorded and apply them to the onboarding; returns how many were new."""
        if not entries:
            return 0
        with Session(self.engine) as db:
            rows = insert_new(db, TimelineEvent, "key").values([e.model_dump() for e in entries])
            stored = set(db.scalars(rows.returning(col(TimelineEvent.key))))
            new = [e for e in entries if e.key in stored]
            onboardings = {account: _onboarding(db, account) for account in dict.fromkeys(e.account_id for e in new)}
            for entry in new:
                onboarding = onboardings[entry.account_id]
                if onboarding is not None:
                    apply(onboarding, entry)
            db.add_all(o for o in onboardings.values() if o is not None)
            db.commit()
            return len(new)

    @activity.defn
    def open_escalation(self, request: EscalationRequest) -> None:
        """A human task for the assignee (an escalation is due within a day; a staff task when the
        playbook says), and its line in the timeline."""
        with Session(self.engine) as db:
            if db.exec(select(HumanTask).where(HumanTask.key == request.key)).first():
                return
            db.add(
                HumanTask(
                    key=request.key,
                    account_id=request.account_id,
                    workflow_id=request.workflow_id,
                    kind=request.kind,
                    rule=request.rule,
                    reason=request.reason,
                    to_role=request.to,
                    assignee=request.assignee,
                    opened_at=request.opened_at,
                    due_at=request.due_at or request.opened_at + RESPONSE_DUE,
                )
            )
            db.add(
                TimelineEvent(
                    key=f"{request.key}#opened",
                    account_id=request.account_id,
                    at=request.opened_at,
                    kind=request.kind,
                    name=request.rule,
                    actor="engine",
                    to=request.to,
                    detail=request.reason,
                    data={"escalation": request.key, "rule": request.rule},
                    seq=request.seq,
                )
            )
            db.commit()

    @activity.defn
    def repeat_escalation(self, request: EscalationRepeat) -> None:
        """The open task's count and last occurrence; the count only grows, so a late retry changes nothing."""
        with Session(self.engine) as db:
            db.exec(
                update(HumanTask)
                .where(
                    col(HumanTask.key) == request.key,
                    col(HumanTask.status) == "open",
                    col(HumanTask.occurrences) < request.occurrences,
                )
                .values(occurrences=request.occurrences, last_seen_at=request.at)
            )
            db.commit()

    @activity.defn
    def resolve_escalation(self, request: ResolveRequest) -> None:
        """Close the human task; the workflow records the resolution in the timeline as a CSM action."""
        with Session(self.engine) as db:
            task = db.exec(select(HumanTask).where(HumanTask.key == request.key)).first()
            if task is None or task.status != "open":
                return
            task.status, task.resolved_at = "resolved", request.at
            task.resolved_by, task.resolution = request.by, request.note
            db.add(task)
            db.commit()

    @activity.defn
    def claim_escalation(self, request: ClaimRequest) -> None:
        """The open task's new assignee (claimed, or gone up to the CS manager)."""
        with Session(self.engine) as db:
            db.exec(
                update(HumanTask)
                .where(col(HumanTask.key) == request.key, col(HumanTask.status) == "open")
                .values(assignee=request.assignee)
            )
            db.commit()

    @activity.defn
    def cancel_onboarding(self, request: CancelRequest) -> None:
        """Close the onboarding's open tasks as cancelled and stop every email not yet handed over.

        Only 'pending' emails are stopped: a 'sending' one may already be with the provider, and
        the send_email attempt that owns it settles it. A cancelled row is final for send_email.
        """
        prefix = request.key_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with Session(self.engine) as db:
            db.exec(
                update(HumanTask)
                .where(
                    col(HumanTask.workflow_id) == request.workflow_id,
                    col(HumanTask.key).like(prefix, escape="\\"),
                    col(HumanTask.status) == "open",
                )
                .values(
                    status="cancelled",
                    resolved_at=request.at,
                    resolved_by=request.by,
                    resolution=f"onboarding cancelled: {request.reason}",
                )
            )
            db.exec(
                update(OutboxEmail)
                .where(
                    col(OutboxEmail.key).like(prefix, escape="\\"),
                    col(OutboxEmail.status) == "pending",
                    col(OutboxEmail.key).not_in(request.keep),
                )
                .values(status="cancelled", error=f"not sent: the onboarding was cancelled ({request.reason})")
            )
            db.commit()


def _onboarding(db: Session, account_id: str) -> Onboarding | None:
    return db.exec(
        select(Onboarding).where(Onboarding.account_id == account_id).order_by(col(Onboarding.signed_at).desc())
    ).first()


def apply(onboarding: Onboarding, entry: TimelineEntry) -> None:
    """What one timeline entry changes in the onboarding's current state."""
    if entry.kind == "phase":
        onboarding.phase = entry.name
    elif entry.kind == "health":
        onboarding.health = entry.name
    elif entry.kind == "paused" and onboarding.status == "active":
        onboarding.status = "paused"
    elif entry.kind == "resumed" and onboarding.status == "paused":
        onboarding.status = "active"
    elif entry.kind == "completed" and onboarding.completed_at is None:
        onboarding.status = "completed"
        onboarding.completed_at = onboarding.first_value_at = entry.at
    elif entry.kind == "cancelled":
        onboarding.status = "cancelled"
        onboarding.cancelled_at, onboarding.cancel_reason = entry.at, entry.name
    elif entry.kind == "action" and entry.name == "reassign" and "owner" in entry.data:
        onboarding.owner = str(entry.data["owner"])
    onboarding.updated_at = max(onboarding.updated_at, entry.at)
