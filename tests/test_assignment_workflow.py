"""Assignment through the real workflow and worker on the time-skipping server: seats shared by
onboardings started at once, a full team escalated to the manager, a reassignment moving the load."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from adapters.config import Settings
from adapters.db import Staff, engine
from onboarding.messages import Reassign
from tests.conftest import Run, begin
from tests.test_assignment import loads, person, write_roster
from worker import build_worker


@contextlib.asynccontextmanager
async def engine_with(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[str]:
    """A worker whose activities use `settings` (its roster file among them); yields its task queue."""
    queue = f"test-{uuid.uuid4()}"
    async with build_worker(env.client, queue, settings=settings):
        yield queue


def with_roster(db_url: str, roster: Path) -> Settings:
    return dataclasses.replace(Settings.from_env(), database_url=db_url, staff_file=roster)


async def test_many_onboardings_started_at_once_share_the_seats_in_order(
    env: WorkflowEnvironment, db_url: str, tmp_path: Path
) -> None:
    """Eight SMB contracts signed at the same moment, through the real workflow and worker."""
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-a", "csm", ["smb"], 2),
        person("csm-b", "csm", ["smb"], 3),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    settings = with_roster(db_url, path)
    async with engine_with(env, settings) as queue:
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


async def start(env: WorkflowEnvironment, queue: str, settings: Settings) -> Run:
    return await begin(env, env.client, queue, settings, "smb", account_id=f"acct-{uuid.uuid4().hex[:10]}")


async def test_a_full_team_still_starts_the_onboarding_and_escalates_to_the_manager(
    env: WorkflowEnvironment, db_url: str, tmp_path: Path
) -> None:
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-solo", "csm", ["smb"], 1),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    settings = with_roster(db_url, path)
    async with engine_with(env, settings) as queue:
        first = await start(env, queue, settings)
        await env.sleep(timedelta(hours=1))  # the first is assigned before the second contract is signed
        second = await start(env, queue, settings)
        await env.sleep(timedelta(hours=1))
        owners = [(await run.status()).owner for run in (first, second)]
        open_escalations = (await second.status()).open_escalations
        for run in (first, second):
            await run.handle.terminate("test over")

    assert owners == ["csm-solo", "csm-solo"]
    assert first.tasks() == []
    [task] = second.tasks()
    assert (task.rule, task.assignee, task.status) == ("capacity", "mgr-d", "open")
    assert task.reason == "All smb CSMs are at capacity: csm-solo now has 2 of 1 active onboardings"
    assert (0, "escalation", "cs_manager") in second.emails()
    assert [e.reason for e in open_escalations] == [task.reason]


async def test_reassign_reads_the_staff_table_and_moves_the_load(
    env: WorkflowEnvironment, db_url: str, tmp_path: Path
) -> None:
    path = write_roster(
        tmp_path / "staff.yaml",
        person("csm-solo", "csm", ["smb"], 10),
        person("mgr-d", "cs_manager", ["smb"], 100),
    )
    settings = with_roster(db_url, path)
    async with engine_with(env, settings) as queue:
        run = await start(env, queue, settings)
        await env.sleep(timedelta(hours=1))
        with Session(engine(db_url)) as db:
            db.add(Staff.model_validate(person("csm-new", "csm", ["smb"], 5)))
            db.add(Staff.model_validate({**person("csm-gone", "csm", ["smb"], 5), "active": False}))
            db.commit()

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await run.act(Reassign(owner="csm-gone"))
        cause = refused.value.cause  # the roster's reason, not "Activity task failed"
        assert isinstance(cause, ApplicationError)
        assert cause.message == "owner: no active CSM with id 'csm-gone' in the staff roster"
        status = await run.act(Reassign(owner="csm-new", by="mgr-d"))
        assert status.owner == "csm-new"
        await env.sleep(timedelta(minutes=1))
        await run.handle.terminate("test over")
    assert loads(db_url) == {"csm-new": 1}
