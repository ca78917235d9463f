"""Assignment by segment and load within capacity, on SQLite and PostgreSQL, also under concurrency."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, func, select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.team import assign_team, find_staff
from onboarding.config import Settings
from onboarding.db import Account, Onboarding, Staff, engine
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import Reassign
from tests.conftest import begin
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow as W

SIGNED = datetime(2026, 3, 2, 9, tzinfo=UTC)


def person(staff_id: str, role: str, segments: list[str], capacity: int) -> dict[str, object]:
    return {
        "id": staff_id,
        "name": staff_id.title(),
        "email": f"{staff_id}@vendor.example",
        "role": role,
        "segments": segments,
        "capacity": capacity,
    }


def write_roster(path: Path, *people: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump({"people": list(people)}))
    return path


@pytest.fixture
def roster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two mid-market CSMs (3 and 4 seats, one also SMB), one specialist with 3 seats, a manager."""
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-a", "csm", ["mid_market"], 3),
        person("csm-b", "csm", ["mid_market", "smb"], 4),
        person("is-c", "implementation_specialist", ["mid_market"], 3),
        person("mgr-d", "cs_manager", ["smb", "mid_market"], 100),
    )
    monkeypatch.setenv("STAFF_FILE", str(path))
    return path


def request(n: int, segment: str = "mid_market") -> AssignRequest:
    return AssignRequest(
        workflow_id=f"onboarding-acct-{n}",
        account_id=f"acct-{n}",
        company=f"Company {n}",
        segment=segment,  # type: ignore[arg-type]
        locale="en",
        acv=Decimal("20000"),
        employees=150,
        signed_at=SIGNED + timedelta(minutes=n),
    )


def loads(url: str) -> dict[str, int]:
    with Session(engine(url)) as db:
        rows = db.exec(select(Onboarding.owner, func.count()).group_by(Onboarding.owner)).all()
    return dict(rows)


def test_least_loaded_within_capacity_then_over_capacity_is_reported(db_url: str, roster: Path) -> None:
    picks = [assign_team(request(n)) for n in range(9)]

    # Least loaded relative to capacity; ties go to the fewer onboardings, then the id:
    # a 0/3 b 0/4 -> a; a 1/3 b 0/4 -> b; b 1/4 -> b; b 2/4 -> a; a 2/3 b 2/4 -> b; b 3/4 -> a;
    # a 3/3 b 3/4 -> b; both full, a 3 b 4 onboardings -> a (4 of 3); a 4/3 b 4/4 -> b (5 of 4).
    assert [p.team.csm.id for p in picks] == [
        "csm-a",
        "csm-b",
        "csm-b",
        "csm-a",
        "csm-b",
        "csm-a",
        "csm-b",
        "csm-a",
        "csm-b",
    ]
    assert [p.team.implementation_specialist.id for p in picks if p.team.implementation_specialist] == ["is-c"] * 9
    assert {p.team.cs_manager.id for p in picks} == {"mgr-d"}
    assert [p.over_capacity is None for p in picks] == [True] * 3 + [False] * 6
    assert picks[3].over_capacity == (
        "All mid_market implementation specialists are at capacity: is-c now has 4 of 3 active onboardings"
    )
    assert picks[7].over_capacity == (
        "All mid_market CSMs are at capacity: csm-a now has 4 of 3 active onboardings; "
        "All mid_market implementation specialists are at capacity: is-c now has 8 of 3 active onboardings"
    )
    assert loads(db_url) == {"csm-a": 4, "csm-b": 5}


def test_finished_onboardings_free_their_seat(db_url: str, roster: Path) -> None:
    for n in range(3):
        assign_team(request(n, "smb"))  # csm-b is the only SMB CSM: 3 of 4
    with Session(engine(db_url)) as db:
        done = db.get(Onboarding, "onboarding-acct-0")
        assert done
        done.status = "completed"
        db.add(done)
        db.commit()
    # Without the completed one, the fifth start (n=4) would be the one over capacity.
    assert [assign_team(request(n, "smb")).over_capacity for n in (3, 4, 5)] == [
        None,
        None,
        "All smb CSMs are at capacity: csm-b now has 5 of 4 active onboardings",
    ]
    assert assign_team(request(6, "smb")).team.implementation_specialist is None


def test_a_retry_returns_the_recorded_team_and_adds_nothing(db_url: str, roster: Path) -> None:
    first = [assign_team(request(n)) for n in range(4)]
    again = [assign_team(request(n)) for n in range(4)]
    assert again == first
    assert first[3].over_capacity  # the specialist's fourth: the retry keeps the reason too
    with Session(engine(db_url)) as db:
        assert db.exec(select(func.count()).select_from(Onboarding)).one() == 4
        assert db.exec(select(func.count()).select_from(Account)).one() == 4
        account = db.get(Account, "acct-2")
        assert account and account.company == "Company 2" and account.segment == "mid_market"
    assert loads(db_url) == {"csm-a": 2, "csm-b": 2}


def test_an_empty_staff_table_is_filled_from_the_roster_file_once(db_url: str, roster: Path) -> None:
    assign_team(request(1))
    assign_team(request(2))
    with Session(engine(db_url)) as db:
        assert sorted(db.exec(select(Staff.id)).all()) == ["csm-a", "csm-b", "is-c", "mgr-d"]
        db.add(Staff(id="csm-e", name="E", email="e@vendor.example", role="csm", segments=["enterprise"], capacity=9))
        db.commit()
    assert find_staff("csm-e").id == "csm-e"  # the table, not the file, is the roster now


def test_nobody_fits_is_a_clear_non_retryable_error(db_url: str, roster: Path) -> None:
    with pytest.raises(ApplicationError) as raised:
        assign_team(request(1, "enterprise"))
    assert raised.value.message.startswith("staff roster: no active csm serves enterprise onboardings; add one")
    assert raised.value.non_retryable
    with Session(engine(db_url)) as db:
        assert db.exec(select(func.count()).select_from(Onboarding)).one() == 0


def test_a_bad_roster_file_names_the_field(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = write_roster(tmp_path / "bad.yaml", person("csm-a", "csm", ["mid_market"], 0))
    monkeypatch.setenv("STAFF_FILE", str(bad))
    with pytest.raises(ApplicationError) as raised:
        assign_team(request(1))
    assert raised.value.message == f"{bad}: people[0].capacity: Input should be greater than or equal to 1"


def test_concurrent_starts_never_over_assign(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """24 onboardings assigned at once, from an empty staff table: every seat filled exactly once."""
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-a", "csm", ["mid_market"], 3),
        person("csm-b", "csm", ["mid_market"], 4),
        person("csm-c", "csm", ["mid_market"], 5),
        person("is-x", "implementation_specialist", ["mid_market"], 8),
        person("is-y", "implementation_specialist", ["mid_market"], 8),
        person("mgr-d", "cs_manager", ["mid_market"], 100),
    )
    monkeypatch.setenv("STAFF_FILE", str(path))
    starts = 24
    gate = threading.Barrier(starts)

    def start(n: int) -> Assignment:
        gate.wait()
        return assign_team(request(n))

    with ThreadPoolExecutor(starts) as pool:
        picks = list(pool.map(start, range(starts)))

    # Whatever the order, decisions made one at a time end the same way: 12 CSM seats, then
    # the least loaded relative to capacity: a 4/3, b 5/4, c 6/5, c 7/5, b 6/4, a 5/3, c 8/5,
    # b 7/4, c 9/5, a 6/3, b 8/4, c 10/5. Specialists alternate: 12 each.
    csm_full = [p for p in picks if p.over_capacity and "CSMs are at capacity" in p.over_capacity]
    specialist_full = [p for p in picks if p.over_capacity and "specialists are at capacity" in p.over_capacity]
    assert len(csm_full) == starts - 12
    assert len(specialist_full) == starts - 16
    with Session(engine(db_url)) as db:
        seats = db.exec(select(Onboarding.specialist, func.count()).group_by(Onboarding.specialist)).all()
        assert dict(seats) == {"is-x": 12, "is-y": 12}
        assert db.exec(select(func.count()).select_from(Staff)).one() == 6
    assert loads(db_url) == {"csm-a": 6, "csm-b": 8, "csm-c": 10}


async def test_many_onboardings_started_at_once_share_the_seats_in_order(
    env: WorkflowEnvironment, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight SMB contracts signed at the same moment, through the real workflow and worker."""
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-a", "csm", ["smb"], 2),
        person("csm-b", "csm", ["smb"], 3),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    monkeypatch.setenv("STAFF_FILE", str(path))
    settings, queue = Settings.from_env(), f"test-{uuid.uuid4()}"
    async with build_worker(env.client, queue):
        runs = await asyncio.gather(
            *(
                begin(env, env.client, queue, settings, "smb", account_id=f"rush-{uuid.uuid4().hex[:8]}")
                for _ in range(8)
            )
        )
        await env.sleep(timedelta(hours=1))
        owners = Counter([(await run.status()).owner for run in runs])
        for run in runs:
            await run.handle.terminate("test over")

    # 5 seats; then a 3/2, b 4/3, b 5/3 (least loaded relative to capacity, fewer onboardings first).
    assert owners == {"csm-a": 3, "csm-b": 5}
    assert loads(db_url) == owners
    tasks = [t for run in runs for t in run.tasks()]
    assert sorted(t.reason for t in tasks) == [
        "All smb CSMs are at capacity: csm-a now has 3 of 2 active onboardings",
        "All smb CSMs are at capacity: csm-b now has 4 of 3 active onboardings",
        "All smb CSMs are at capacity: csm-b now has 5 of 3 active onboardings",
    ]
    assert {(t.rule, t.assignee) for t in tasks} == {("capacity", "mgr-d")}


async def test_a_full_team_still_starts_the_onboarding_and_escalates_to_the_manager(
    env: WorkflowEnvironment, onboard: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-solo", "csm", ["smb"], 1),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    monkeypatch.setenv("STAFF_FILE", str(path))
    first = await onboard("smb")
    await env.sleep(timedelta(hours=1))  # the first is assigned before the second contract is signed
    second = await onboard("smb")
    await env.sleep(timedelta(hours=1))

    assert (await first.status()).owner == (await second.status()).owner == "csm-solo"
    assert first.tasks() == []
    [task] = second.tasks()
    assert (task.rule, task.assignee, task.status) == ("capacity", "mgr-d", "open")
    assert task.reason == "All smb CSMs are at capacity: csm-solo now has 2 of 1 active onboardings"
    assert (0, "escalation", "cs_manager") in second.emails()
    assert [e.reason for e in (await second.status()).open_escalations] == [task.reason]


async def test_reassign_reads_the_staff_table_and_moves_the_load(
    env: WorkflowEnvironment, onboard: Any, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-solo", "csm", ["smb"], 10),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    monkeypatch.setenv("STAFF_FILE", str(path))
    run = await onboard("smb")
    await env.sleep(timedelta(hours=1))
    with Session(engine(settings.database_url)) as db:
        db.add(Staff(id="csm-new", name="New", email="new@vendor.example", role="csm", segments=["smb"], capacity=5))
        db.add(
            Staff(
                id="csm-gone",
                name="Gone",
                email="gone@vendor.example",
                role="csm",
                segments=["smb"],
                capacity=5,
                active=False,
            )
        )
        db.commit()

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await run.act(W.reassign, Reassign(owner="csm-gone"))
    cause = refused.value.cause  # the roster's reason, not "Activity task failed"
    assert isinstance(cause, ApplicationError)
    assert cause.message == "owner: no active CSM with id 'csm-gone' in the staff roster"
    status = await run.act(W.reassign, Reassign(owner="csm-new", by="mgr-d"))
    assert status.owner == "csm-new"
    await env.sleep(timedelta(minutes=1))
    assert loads(settings.database_url) == {"csm-new": 1}
