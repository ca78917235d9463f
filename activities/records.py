"""Timeline rows and human tasks, each written once however often the activity runs."""

from __future__ import annotations

from sqlmodel import Session, select
from temporalio import activity

from onboarding.config import Settings
from onboarding.db import HumanTask, TimelineEvent, engine
from onboarding.effects import EscalationRequest, ResolveRequest, TimelineEntry


@activity.defn
def record_timeline(entries: list[TimelineEntry]) -> int:
    """Insert the entries not yet recorded; returns how many were new."""
    with Session(engine(Settings.from_env().database_url)) as db:
        keys = [e.key for e in entries]
        known = set(db.exec(select(TimelineEvent.key).where(TimelineEvent.key.in_(keys))).all())  # type: ignore[attr-defined]
        new = [TimelineEvent(**e.model_dump()) for e in entries if e.key not in known]
        db.add_all(new)
        db.commit()
        return len(new)


@activity.defn
def open_escalation(request: EscalationRequest) -> None:
    """A human task for the assignee, and its line in the timeline."""
    with Session(engine(Settings.from_env().database_url)) as db:
        if db.exec(select(HumanTask).where(HumanTask.key == request.key)).first():
            return
        db.add(
            HumanTask(
                key=request.key,
                account_id=request.account_id,
                workflow_id=request.workflow_id,
                rule=request.rule,
                reason=request.reason,
                to_role=request.to,
                assignee=request.assignee,
                opened_at=request.opened_at,
            )
        )
        db.add(
            TimelineEvent(
                key=f"{request.key}#opened",
                account_id=request.account_id,
                at=request.opened_at,
                kind="escalation",
                name=request.rule,
                actor="engine",
                to=request.to,
                detail=request.reason,
            )
        )
        db.commit()


@activity.defn
def resolve_escalation(request: ResolveRequest) -> None:
    with Session(engine(Settings.from_env().database_url)) as db:
        task = db.exec(select(HumanTask).where(HumanTask.key == request.key)).first()
        if task is None or task.status == "resolved":
            return
        task.status, task.resolved_at = "resolved", request.at
        task.resolved_by, task.resolution = request.by, request.note
        db.add(task)
        db.commit()
