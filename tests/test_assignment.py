"""Assignment by segment and load within capacity, on SQLite and PostgreSQL, also under concurrency;
an empty roster leaves the onboarding unassigned, and an account can be onboarded again after a cancel."""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, func, select
from temporalio.exceptions import ApplicationError

from activities.team import Staffing
from adapters.config import Settings
from adapters.db import Account, Onboarding, Staff, engine
from onboarding.effects import Assignment, AssignRequest

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


def staffing(db_url: str, roster: Path) -> Staffing:
    """The activities' object as a worker builds it, on this database and roster file."""
    return Staffing(dataclasses.replace(Settings.from_env(), database_url=db_url, staff_file=roster))


@pytest.fixture
def team(db_url: str, tmp_path: Path) -> Staffing:
    """Two mid-market CSMs (3 and 4 seats, one also SMB), one specialist with 3 seats, a manager."""
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-a", "csm", ["mid_market"], 3),
        person("csm-b", "csm", ["mid_market", "smb"], 4),
        person("is-c", "implementation_specialist", ["mid_market"], 3),
        person("mgr-d", "cs_manager", ["smb", "mid_market"], 100),
    )
    return staffing(db_url, path)


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


def test_least_loaded_within_capacity_then_over_capacity_is_reported(db_url: str, team: Staffing) -> None:
    picks = [team.assign_team(request(n)) for n in range(9)]
    teams = [p.team for p in picks if p.team]

    # Least loaded relative to capacity; ties go to the fewer onboardings, then the id:
    # a 0/3 b 0/4 -> a; a 1/3 b 0/4 -> b; b 1/4 -> b; b 2/4 -> a; a 2/3 b 2/4 -> b; b 3/4 -> a;
    # a 3/3 b 3/4 -> b; both full, a 3 b 4 onboardings -> a (4 of 3); a 4/3 b 4/4 -> b (5 of 4).
    assert [t.csm.id for t in teams] == [
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
    assert [t.implementation_specialist.id for t in teams if t.implementation_specialist] == ["is-c"] * 9
    assert {t.cs_manager.id for t in teams} == {"mgr-d"}
    assert [p.over_capacity is None for p in picks] == [True] * 3 + [False] * 6
    assert picks[3].over_capacity == (
        "All mid_market implementation specialists are at capacity: is-c now has 4 of 3 active onboardings"
    )
    assert picks[7].over_capacity == (
        "All mid_market CSMs are at capacity: csm-a now has 4 of 3 active onboardings; "
        "All mid_market implementation specialists are at capacity: is-c now has 8 of 3 active onboardings"
    )
    assert loads(db_url) == {"csm-a": 4, "csm-b": 5}


def test_finished_onboardings_free_their_seat(db_url: str, team: Staffing) -> None:
    for n in range(3):
        team.assign_team(request(n, "smb"))  # csm-b is the only SMB CSM: 3 of 4
    with Session(engine(db_url)) as db:
        done = db.get(Onboarding, "onboarding-acct-0")
        assert done
        done.status = "completed"
        db.add(done)
        db.commit()
    # Without the completed one, the fifth start (n=4) would be the one over capacity.
    assert [team.assign_team(request(n, "smb")).over_capacity for n in (3, 4, 5)] == [
        None,
        None,
        "All smb CSMs are at capacity: csm-b now has 5 of 4 active onboardings",
    ]
    smb = team.assign_team(request(6, "smb")).team
    assert smb and smb.implementation_specialist is None


def test_a_retry_returns_the_recorded_team_and_adds_nothing(db_url: str, team: Staffing) -> None:
    first = [team.assign_team(request(n)) for n in range(4)]
    again = [team.assign_team(request(n)) for n in range(4)]
    assert again == first
    assert first[3].over_capacity  # the specialist's fourth: the retry keeps the reason too
    with Session(engine(db_url)) as db:
        assert db.exec(select(func.count()).select_from(Onboarding)).one() == 4
        assert db.exec(select(func.count()).select_from(Account)).one() == 4
        account = db.get(Account, "acct-2")
        assert account and account.company == "Company 2" and account.segment == "mid_market"
    assert loads(db_url) == {"csm-a": 2, "csm-b": 2}


def test_an_empty_staff_table_is_filled_from_the_roster_file_once(db_url: str, team: Staffing) -> None:
    team.assign_team(request(1))
    team.assign_team(request(2))
    with Session(engine(db_url)) as db:
        assert sorted(db.exec(select(Staff.id)).all()) == ["csm-a", "csm-b", "is-c", "mgr-d"]
        db.add(Staff(id="csm-e", name="E", email="e@vendor.example", role="csm", segments=["enterprise"], capacity=9))
        db.commit()
    assert team.find_staff("csm-e").id == "csm-e"  # the table, not the file, is the roster now


def manager_only(db_url: str, tmp_path: Path) -> Staffing:
    """A roster with a mid-market CS manager and nobody who serves enterprise."""
    return staffing(db_url, write_roster(tmp_path / "staff.yaml", person("mgr-d", "cs_manager", ["mid_market"], 100)))


def row(url: str, n: int) -> Onboarding:
    with Session(engine(url)) as db:
        found = db.get(Onboarding, f"onboarding-acct-{n}")
    assert found is not None
    return found


def add_staff(url: str, *people: dict[str, object]) -> None:
    with Session(engine(url)) as db:
        db.add_all(Staff.model_validate(p) for p in people)
        db.commit()


def test_nobody_fits_starts_unassigned_and_names_a_manager(db_url: str, tmp_path: Path) -> None:
    team = manager_only(db_url, tmp_path)
    answer = team.assign_team(request(1, "enterprise"))
    assert answer.team is None and answer.cs_manager and answer.cs_manager.id == "mgr-d"
    assert answer.unassigned == (
        "No active CSM or CS manager serves enterprise onboardings, so nobody owns this one yet: add one with "
        "`python admin.py staff add` or `python admin.py staff set ID --segment enterprise`; "
        "the onboarding is assigned as soon as someone fits"
    )
    assert team.assign_team(request(1, "enterprise")) == answer  # a retry: the same answer, one row
    recorded = row(db_url, 1)
    assert (recorded.owner, recorded.manager, recorded.status) == ("unassigned", "mgr-d", "active")


def test_waiting_for_staff_retries_until_someone_fits_then_takes_the_seat(db_url: str, tmp_path: Path) -> None:
    team = manager_only(db_url, tmp_path)
    team.assign_team(request(1, "enterprise"))
    waiting = request(1, "enterprise").model_copy(update={"wait_for_staff": True})
    with pytest.raises(ApplicationError) as not_yet:
        team.assign_team(waiting)
    assert (not_yet.value.type, not_yet.value.non_retryable) == ("NoStaffYet", False)
    assert "No active CSM or CS manager serves enterprise" in not_yet.value.message

    add_staff(db_url, person("csm-e", "csm", ["enterprise"], 5), person("mgr-e", "cs_manager", ["enterprise"], 50))
    assigned = team.assign_team(waiting)
    assert assigned.team and (assigned.team.csm.id, assigned.team.cs_manager.id) == ("csm-e", "mgr-e")
    assert assigned.over_capacity == "No active implementation specialist serves enterprise"
    assert (row(db_url, 1).owner, row(db_url, 1).manager) == ("csm-e", "mgr-e")
    assert team.assign_team(waiting) == assigned  # a retry after success changes nothing


def test_no_manager_either_is_logged_without_personal_data(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    team = staffing(db_url, write_roster(tmp_path / "staff.yaml", person("csm-a", "csm", ["smb"], 5)))
    caplog.set_level(logging.INFO)
    answer = team.assign_team(request(1, "smb"))
    assert (answer.team, answer.cs_manager) == (None, None)
    assert answer.unassigned and answer.unassigned.startswith("No active CS manager serves smb onboardings")
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "onboarding-acct-1 has no team and the staff roster has no active CS manager" in logged.getMessage()
    assert "Csm-A" not in caplog.text and "@" not in caplog.text


def test_a_broken_roster_file_leaves_the_onboarding_unassigned_and_says_why(db_url: str, tmp_path: Path) -> None:
    bad = write_roster(tmp_path / "bad.yaml", person("csm-a", "csm", ["mid_market"], 0))
    answer = staffing(db_url, bad).assign_team(request(1))
    assert answer.team is None and answer.cs_manager is None
    assert answer.unassigned == (
        f"The staff roster cannot be used, so nobody owns this onboarding yet: {bad}: "
        "people[0].capacity: Input should be greater than or equal to 1"
    )
    assert row(db_url, 1).owner == "unassigned"


def test_an_account_cancelled_then_signed_again_gets_a_fresh_onboarding(db_url: str, team: Staffing) -> None:
    first = team.assign_team(request(1))
    with Session(engine(db_url)) as db:
        old = db.get(Onboarding, "onboarding-acct-1")
        assert old
        old.sqlmodel_update({"status": "cancelled", "phase": "implementation", "cancel_reason": "duplicate"})
        old.cancelled_at = old.completed_at = SIGNED + timedelta(days=5)
        db.add(old)
        db.commit()
    assert team.assign_team(request(1)) == first  # a late retry of the first onboarding's assignment
    assert row(db_url, 1).status == "cancelled"

    team.assign_team(request(2))  # takes the seat csm-a had: the cancelled onboarding holds none
    signed_again = SIGNED + timedelta(days=30)
    again = team.assign_team(request(1).model_copy(update={"signed_at": signed_again}))
    assert again.team and again.team.csm.id == "csm-b"  # chosen afresh by today's load, not the old team
    fresh = row(db_url, 1)
    assert (fresh.status, fresh.phase, fresh.signed_at, fresh.owner) == ("active", "signed", signed_again, "csm-b")
    assert (fresh.cancelled_at, fresh.cancel_reason, fresh.completed_at) == (None, None, None)
    assert loads(db_url) == {"csm-a": 1, "csm-b": 1}


def test_concurrent_starts_never_over_assign(db_url: str, tmp_path: Path) -> None:
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
    team = staffing(db_url, path)
    starts = 24
    gate = threading.Barrier(starts)

    def start(n: int) -> Assignment:
        gate.wait()
        return team.assign_team(request(n))

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
