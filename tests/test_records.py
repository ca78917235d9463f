"""Timeline rows once per event, human tasks, and the Onboarding row kept in step: SQLite and PostgreSQL.

The activities are called as methods of objects built from a test Settings, as a worker builds them.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from activities.records import Records
from activities.team import Staffing
from adapters.config import Settings
from adapters.db import HumanTask, Onboarding, OutboxEmail, TimelineEvent, engine
from onboarding.effects import (
    AssignRequest,
    CancelRequest,
    EscalationRepeat,
    EscalationRequest,
    ResolveRequest,
    TimelineEntry,
)

SIGNED = datetime(2026, 3, 2, 9, tzinfo=UTC)
WF = "onboarding-acme"
ROSTER = """
people:
  - {id: csm-a, name: A, email: a@vendor.example, role: csm, segments: [mid_market], capacity: 10}
  - {id: mgr-d, name: D, email: d@vendor.example, role: cs_manager, segments: [mid_market], capacity: 100}
"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    roster = tmp_path / "staff.yaml"
    roster.write_text(ROSTER)
    return dataclasses.replace(Settings.from_env(), database_url=db_url, staff_file=roster)


@pytest.fixture
def records(settings: Settings) -> Records:
    Staffing(settings).assign_team(
        AssignRequest(
            workflow_id=WF,
            account_id="acme",
            company="Acme",
            segment="mid_market",
            locale="en",
            acv=Decimal(20000),
            employees=120,
            signed_at=SIGNED,
        )
    )
    return Records(settings)


def entry(
    seq: int, day: float, kind: str, name: str, detail: str = "", actor: str = "engine", **data: object
) -> TimelineEntry:
    return TimelineEntry(
        key=f"{WF}:{seq}",
        account_id="acme",
        at=SIGNED + timedelta(days=day),
        kind=kind,  # type: ignore[arg-type]
        name=name,
        actor=actor,
        detail=detail,
        data=data,
    )


def onboarding(url: str, workflow_id: str = WF) -> Onboarding:
    with Session(engine(url)) as db:
        row = db.get(Onboarding, workflow_id)
    assert row is not None
    return row


def escalation(key: str = f"{WF}/no_login_7d.1", day: float = 7) -> EscalationRequest:
    return EscalationRequest(
        key=key,
        workflow_id=WF,
        account_id="acme",
        rule="no_login_7d",
        reason="No login 7 days after signing",
        to="csm",
        assignee="csm-a",
        opened_at=SIGNED + timedelta(days=day),
    )


def tasks(url: str) -> list[HumanTask]:
    with Session(engine(url)) as db:
        return list(db.exec(select(HumanTask).order_by(col(HumanTask.key))).all())


def test_a_batch_recorded_twice_is_one_row_per_entry_with_its_data(records: Records, db_url: str) -> None:
    answer = {"goal_reached": True, "csat": 5, "ces": None}
    batch = [
        entry(1, 0, "phase", "kickoff_planning"),
        entry(2, 0.5, "event", "survey_answer", "goal reached: yes; CSAT 5", actor="customer", **answer),
    ]
    assert records.record_timeline(batch) == 2
    assert records.record_timeline(batch) == 0
    assert records.record_timeline([*batch, entry(3, 1, "health", "yellow", "no activity for 5 days")]) == 1
    with Session(engine(db_url)) as db:
        rows = db.exec(
            select(TimelineEvent.key, TimelineEvent.kind, TimelineEvent.data).order_by(col(TimelineEvent.id))
        )
        assert rows.all() == [(f"{WF}:1", "phase", {}), (f"{WF}:2", "event", answer), (f"{WF}:3", "health", {})]


def test_the_onboarding_row_follows_the_timeline_and_ignores_replayed_batches(records: Records, db_url: str) -> None:
    assert onboarding(db_url).phase == "signed"
    records.record_timeline([entry(1, 0, "phase", "kickoff_planning")])
    pause = [entry(2, 3, "paused", "paused", "budget freeze", actor="csm-dmitri")]
    records.record_timeline(pause)
    assert onboarding(db_url).status == "paused"
    records.record_timeline([entry(3, 8, "resumed", "resumed", "paused for 5 days")])
    records.record_timeline(pause)  # a late retry of the pause batch must not pause it again
    records.record_timeline(
        [
            entry(4, 9, "phase", "implementation", "Kickoff done; Implementation begins"),
            entry(5, 12, "health", "red", "open escalation: No login 7 days after signing"),
            entry(6, 13, "action", "reassign", "Siti Rahman now owns it", actor="mgr-elena", owner="csm-siti"),
        ]
    )
    row = onboarding(db_url)
    assert (row.status, row.phase, row.health, row.owner) == ("active", "implementation", "red", "csm-siti")
    assert row.updated_at == SIGNED + timedelta(days=13)

    records.record_timeline([entry(7, 40, "completed", "onboarding_complete", "time to first value: 40 days")])
    records.record_timeline([entry(8, 41, "completed", "onboarding_complete")])  # never moves the first value
    row = onboarding(db_url)
    assert row.status == "completed"
    assert row.completed_at == row.first_value_at == SIGNED + timedelta(days=40)

    records.record_timeline([entry(9, 70, "cancelled", "churned", "went with a competitor", actor="csm-siti")])
    row = onboarding(db_url)
    assert (row.status, row.cancel_reason, row.cancelled_at) == ("cancelled", "churned", SIGNED + timedelta(days=70))
    assert row.completed_at == SIGNED + timedelta(days=40)


def test_an_escalation_is_one_task_due_within_a_day_and_resolves_once(records: Records, db_url: str) -> None:
    request = escalation()
    records.open_escalation(request)
    records.open_escalation(request)
    done = ResolveRequest(key=request.key, account_id="acme", by="csm-a", note="called", at=SIGNED + timedelta(days=8))
    records.resolve_escalation(done)
    records.resolve_escalation(done.model_copy(update={"note": "a late retry", "at": SIGNED + timedelta(days=9)}))
    with Session(engine(db_url)) as db:
        lines = db.exec(select(TimelineEvent.key, TimelineEvent.kind, TimelineEvent.detail)).all()
    [task] = tasks(db_url)
    assert (task.status, task.assignee, task.resolution, task.occurrences) == ("resolved", "csm-a", "called", 1)
    assert task.due_at == task.resolved_at == SIGNED + timedelta(days=8)
    assert lines == [(f"{request.key}#opened", "escalation", "No login 7 days after signing")]


def test_a_repeated_problem_counts_on_its_open_task(records: Records, db_url: str) -> None:
    request = escalation()
    records.open_escalation(request)
    third = EscalationRepeat(key=request.key, account_id="acme", occurrences=3, at=SIGNED + timedelta(days=9))
    records.repeat_escalation(third.model_copy(update={"occurrences": 2, "at": SIGNED + timedelta(days=8)}))
    records.repeat_escalation(third)
    records.repeat_escalation(third.model_copy(update={"occurrences": 2}))  # a late retry of the second
    [task] = tasks(db_url)
    assert (task.occurrences, task.last_seen_at, task.status) == (3, SIGNED + timedelta(days=9), "open")


def outbox_row(key: str, status: str) -> OutboxEmail:
    return OutboxEmail(
        key=key,
        account_id="acme",
        workflow_id=WF,
        template="setup_day3",
        to_role="champion",
        to_email="priya@acme.example",
        subject="s",
        text="t",
        html="h",
        status=status,
        backend="outbox",
        created_at=SIGNED,
    )


def test_cancel_closes_open_tasks_and_stops_unsent_email_of_that_run_only(records: Records, db_url: str) -> None:
    run = f"{WF}@run1"
    for key in (f"{run}/no_login_7d.1", f"{run}/stalled.1", f"{WF}@run0/no_login_7d.1"):
        records.open_escalation(escalation(key))
    records.resolve_escalation(
        ResolveRequest(key=f"{run}/stalled.1", account_id="acme", by="csm-a", note="done", at=SIGNED + timedelta(8))
    )
    with Session(engine(db_url)) as db:
        statuses = {f"{run}/welcome": "sent", f"{run}/day3": "pending", f"{run}/day7": "sending"}
        db.add_all([outbox_row(key, status) for key, status in statuses.items()])
        db.add(outbox_row(f"{WF}@run0/day3", "pending"))
        db.commit()
    cancel = CancelRequest(
        workflow_id=WF, key_prefix=run, account_id="acme", by="csm-a", reason="duplicate", at=SIGNED + timedelta(9)
    )
    records.cancel_onboarding(cancel)
    records.cancel_onboarding(cancel.model_copy(update={"at": SIGNED + timedelta(days=10)}))  # a retry

    by_key = {t.key: t for t in tasks(db_url)}
    assert [(k, t.status) for k, t in by_key.items()] == [
        (f"{WF}@run0/no_login_7d.1", "open"),
        (f"{run}/no_login_7d.1", "cancelled"),
        (f"{run}/stalled.1", "resolved"),
    ]
    closed = by_key[f"{run}/no_login_7d.1"]
    assert (closed.resolved_at, closed.resolved_by) == (SIGNED + timedelta(days=9), "csm-a")
    with Session(engine(db_url)) as db:
        emails = dict(db.exec(select(OutboxEmail.key, OutboxEmail.status)).all())
    assert emails == {
        f"{run}/welcome": "sent",
        f"{run}/day3": "cancelled",
        f"{run}/day7": "sending",  # may be with the provider already: its own attempt settles it
        f"{WF}@run0/day3": "pending",
    }
