"""Staff tasks in the KPI report: how much scheduled work the playbooks gave people, and whether
it was done on time (escalations are counted apart: they are problems, not planned work)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from adapters.db import HumanTask


class TaskCounts(BaseModel):
    opened: int
    done: int
    done_on_time: int
    open: int
    overdue: int
    """Open and past their due time: these turn an onboarding's health red."""


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def task_counts(tasks: list[HumanTask], now: datetime) -> TaskCounts:
    mine = [t for t in tasks if t.kind == "task"]
    done = [t for t in mine if t.status == "resolved"]
    open_ = [t for t in mine if t.status == "open"]
    return TaskCounts(
        opened=len(mine),
        done=len(done),
        done_on_time=sum(1 for t in done if t.due_at is None or (t.resolved_at and t.resolved_at <= t.due_at)),
        open=len(open_),
        overdue=sum(1 for t in open_ if t.due_at and _utc(t.due_at) < now),
    )
