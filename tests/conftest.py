"""Shared fixtures: the time-skipping server, a throwaway database and outbox, a worker per test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import starter
from adapters.config import Settings
from adapters.db import HumanTask, OutboxEmail, TimelineEvent, engine, upgrade
from connection import binary, register_search_attributes
from onboarding.messages import Action, ProductEvent
from onboarding.models import Contract, Status
from service import send
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
DAY = timedelta(days=1)
ACTIVITY_ENDS = (
    ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    ET.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    ET.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    ET.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
)


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server per test (0.1 s to start): no test sees another's clock or runs."""
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    ) as env:
        await register_search_attributes(env.client)
        yield env


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'onboarding.db'}")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    settings = Settings.from_env()
    upgrade(settings.database_url)
    return settings


@pytest_asyncio.fixture
async def task_queue(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[str]:
    queue = f"test-{uuid.uuid4()}"
    async with build_worker(env.client, queue):
        yield queue


POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database at the migrated schema, dropped afterwards.

    Each test gets its own database, so tests (and helpers running suites side by side)
    never see each other's rows. Skips, saying why, only where no server answers.
    """
    import psycopg

    admin_dsn = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(admin_dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        pytest.skip(f"no PostgreSQL server answers at {admin_dsn}: {e}")
    name = f"onboarding_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        engine(url).dispose()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine's database for activities and workers: a SQLite file, then a PostgreSQL database."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'records.db'}"
        upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    return url


@dataclass(frozen=True)
class Happened:
    day: float
    kind: str
    name: str
    to: str | None


@dataclass
class Run:
    """One onboarding under test, and what it did, read back from the database."""

    handle: WorkflowHandle[OnboardingWorkflow, object]
    contract: Contract
    settings: Settings

    @property
    def signed_at(self) -> datetime:
        assert self.contract.signed_at
        return self.contract.signed_at

    async def began(self) -> datetime:
        """The run's own clock at its first task: `workflow.now()` there, a moment after signing."""
        async for event in self.handle.fetch_history_events():
            if event.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                return event.event_time.ToDatetime(tzinfo=UTC)
        raise AssertionError("the run has not started a workflow task")

    def timeline(self, *kinds: str) -> list[Happened]:
        with Session(engine(self.settings.database_url)) as db:
            rows = db.exec(
                select(TimelineEvent)
                .where(TimelineEvent.account_id == self.contract.account_id)
                .order_by(col(TimelineEvent.at), col(TimelineEvent.seq), col(TimelineEvent.id))
            ).all()
        return [
            Happened(
                round((r.at.replace(tzinfo=self.signed_at.tzinfo) - self.signed_at) / DAY, 2), r.kind, r.name, r.to
            )
            for r in rows
            if not kinds or r.kind in kinds
        ]

    def emails(self) -> list[tuple[int, str, str | None]]:
        """(whole day, template, recipient role) of every email sent, in order."""
        return [(int(h.day), h.name, h.to) for h in self.timeline("email")]

    def outbox(self) -> list[OutboxEmail]:
        with Session(engine(self.settings.database_url)) as db:
            return list(
                db.exec(
                    select(OutboxEmail)
                    .where(OutboxEmail.account_id == self.contract.account_id)
                    .order_by(col(OutboxEmail.id))
                ).all()
            )

    def tasks(self) -> list[HumanTask]:
        with Session(engine(self.settings.database_url)) as db:
            return list(db.exec(select(HumanTask).where(HumanTask.account_id == self.contract.account_id)).all())

    @property
    def latest(self) -> WorkflowHandle[OnboardingWorkflow, object]:
        """The current run, also after continue-as-new."""
        return self.handle._client.get_workflow_handle_for(OnboardingWorkflow.run, self.handle.id)

    async def status(self) -> Status:
        return await self.latest.query(OnboardingWorkflow.get_status)

    async def act(self, action: Action) -> Status:
        return await send.act(self.latest, action)

    async def settled(self) -> None:
        """Wait (real time, briefly) until no activity or workflow task of the run is in flight."""
        seen = -1
        for _ in range(200):
            kinds = [e.event_type async for e in self.latest.fetch_history_events()]
            ended = sum(kinds.count(kind) for kind in ACTIVITY_ENDS)
            tasks_done = kinds.count(ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED) == kinds.count(
                ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            )
            idle = tasks_done and kinds.count(ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == ended
            if idle and len(kinds) == seen:
                return
            seen = len(kinds)
            await asyncio.sleep(0.05)
        raise AssertionError("the onboarding did not settle within 10 s")

    async def event(self, name: str, **fields: Any) -> None:
        await send.signal(self.latest, ProductEvent(name=name, **fields))


def contract(example: str, **changes: object) -> dict:
    """The example contract of a segment, with some fields changed."""
    import json

    data = json.loads((CONTRACTS / f"{example}.json").read_text())
    data.update(changes)
    return data


async def begin(
    env: WorkflowEnvironment, client: Client, task_queue: str, settings: Settings, segment: str, **changes: object
) -> Run:
    """Sign a contract now (virtual time) and start its onboarding."""
    import json

    now = await env.get_current_time()
    signed = starter.parse_contract(json.dumps(contract(segment, **changes)), now=now)
    handle = await starter.start(client, signed, task_queue=task_queue)
    return Run(handle=handle, contract=signed, settings=settings)


@pytest_asyncio.fixture
async def onboard(env: WorkflowEnvironment, task_queue: str, settings: Settings):  # type: ignore[no-untyped-def]
    """Start onboardings for a test; every one still running is terminated afterwards."""
    runs: list[Run] = []

    async def start(segment: str, **changes: object) -> Run:
        changes.setdefault("account_id", f"acct-{uuid.uuid4().hex[:10]}")
        runs.append(await begin(env, env.client, task_queue, settings, segment, **changes))
        return runs[-1]

    yield start
    for run in runs:
        with contextlib.suppress(RPCError):
            await run.latest.terminate("test over")
