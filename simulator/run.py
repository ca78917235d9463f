"""Drive one customer journey through the real workflow, day by day, on the time-skipping server.

The real workflow runs the real playbook with the real activities, except that email goes to
an in-memory sink (still rendered) and the database is a throwaway SQLite file, reset to the
empty schema before each simulation, used by the simulator's worker whose activities are built
from the simulator's Settings (nothing is read from or written to os.environ). That worker runs
the workflow outside the SDK's sandbox: the sandbox guards workflow code against
nondeterminism (the production worker and the tests keep it), and re-enters it for every
payload, a third of the simulator's time. The scenario's actions are sent by their catalogue
names (service.send) at their virtual day, by simulator.journey.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import event
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import activities
from adapters.config import Settings
from adapters.db import TimelineEvent, engine, upgrade
from adapters.staff import RosterError, seed_if_empty
from connection import binary, register_search_attributes
from onboarding.models import Contract, Segment
from onboarding.playbook import Playbook
from service.start import ContractError, parse_contract, start
from simulator import history
from simulator.journey import DAY, Journey, SimulationError
from simulator.order import EffectOrder
from simulator.scenario import Scenario, ScenarioError
from simulator.sink import EmailSink
from simulator.timeline import Entry, day_of, timeline_order
from workflows.onboarding import OnboardingWorkflow


@dataclass
class Result:
    """What one simulated onboarding did."""

    scenario: str
    segment: Segment
    playbook: str
    workflow_id: str
    signed_at: datetime
    days: float
    outcome: Literal["completed", "cancelled", "active"]
    days_to_first_value: float | None
    history_events: int
    runs: int
    timeline: list[Entry]
    human_touches: int
    seconds: float

    @property
    def reported(self) -> list[Entry]:
        return [e for e in self.timeline if e.reported]

    def to_json(self) -> dict[str, Any]:
        """The documented JSON object (docs/simulator.md)."""
        return {
            "segment": self.segment,
            "outcome": self.outcome,
            "days_to_first_value": self.days_to_first_value,
            "history_events": self.history_events,
            "timeline": [e.public() for e in self.reported],
        }


def default_days(plan: Playbook) -> float:
    """The playbook's length plus 30 days."""
    return plan.length / DAY + 30


def quiet_runtime() -> Runtime:
    """The SDK core logs only errors: its warnings about the test server are noise to a CS ops reader."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter("ERROR", "ERROR"))))


class Simulator:
    """A time-skipping server, a worker and a scratch folder of its own, reused by every simulation.

    Every simulation starts on a fresh database: the worker's activities keep one database
    file, and before each simulation it is reset to the migrated, empty schema (the team a
    simulation gets is the one a fresh roster gives). Simulations on one simulator run one
    after another; run more simulators side by side for more at once (see simulator.batch).
    """

    def __init__(self) -> None:
        self._stack = contextlib.AsyncExitStack()  # what __aexit__ undoes
        self.order = EffectOrder()
        self.task_queue = f"simulation-{uuid.uuid4().hex[:8]}"
        self.runs = 0

    async def __aenter__(self) -> Simulator:
        async with contextlib.AsyncExitStack() as stack:  # on a failure half-way, undo what was done
            self.env = await stack.enter_async_context(
                await WorkflowEnvironment.start_time_skipping(
                    test_server_existing_path=binary("temporal-test-server"),
                    data_converter=pydantic_data_converter,
                    runtime=quiet_runtime(),
                )
            )
            await register_search_attributes(self.env.client)
            self.folder = Path(tempfile.mkdtemp(prefix="simulation-"))
            stack.callback(shutil.rmtree, self.folder, ignore_errors=True)
            self.database = self.folder / "simulation.db"
            self.settings = dataclasses.replace(
                Settings.from_env(), database_url=f"sqlite:///{self.database}", outbox_dir=self.folder / "outbox"
            )
            self.schema = self.folder / "schema.db"
            _empty_database(self.schema, self.settings.staff_file)
            self.engine = engine(self.settings.database_url)  # the one the activities use
            event.listen(self.engine, "connect", _scratch)
            stack.callback(self.engine.dispose)
            self.sink = EmailSink(self.settings)
            await stack.enter_async_context(self._worker())
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.__aexit__(kind, error, tb)

    def _worker(self) -> Worker:
        """The worker of every simulation on this simulator, its activities on the simulation database."""
        real = [a for a in activities.for_worker(self.settings) if a.__name__ != "send_email"]
        return Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=[OnboardingWorkflow],
            activities=[*real, self.sink.send_email],
            interceptors=[self.order],
            activity_executor=ThreadPoolExecutor(4),
            max_concurrent_activities=4,
            workflow_runner=UnsandboxedWorkflowRunner(),
        )

    def _fresh_database(self) -> None:
        """The simulation database back to the empty schema (SQLite's backup copies it whole, WAL or not)."""
        self.engine.dispose()  # no connection to the old content stays open
        with (
            contextlib.closing(sqlite3.connect(self.schema)) as schema,
            contextlib.closing(sqlite3.connect(self.database)) as database,
        ):
            _scratch(database, None)
            schema.backup(database)

    @property
    def client(self) -> Client:
        return self.env.client

    # ---- one journey -------------------------------------------------------------------

    async def simulate(self, scenario: Scenario, plan: Playbook, days: float | None = None) -> Result:
        """Run `scenario` on `plan` for `days` (else the scenario's own, else the playbook's length plus 30)."""
        days = days or scenario.days or default_days(plan)
        scenario.check_days(days)
        started = time.monotonic()
        self._fresh_database()
        contract = self._contract(scenario, plan.segment, await self.env.get_current_time())
        handle = await start(self.client, contract, plan, self.task_queue)
        first_run = handle.first_execution_run_id or handle.result_run_id
        assert first_run, "a started workflow has a run id"
        journey = Journey(self.env, self.sink, contract, first_run)
        try:
            rejected, human = await journey.play(scenario.steps, days)
            histories = await history.runs(self.client, handle.id, first_run)
            status = await journey.status()
        finally:
            await journey.end()
        if histories[-1][-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = histories[-1][-1].workflow_execution_failed_event_attributes.failure.message
            raise SimulationError(f"the workflow failed: {failure}")
        timeline = self._timeline(contract.account_id, journey.signed_at) + rejected
        return Result(
            scenario=scenario.name,
            segment=plan.segment,
            playbook=plan.title,
            workflow_id=handle.id,
            signed_at=journey.signed_at,
            days=days,
            outcome="active" if status.state == "paused" else status.state,
            days_to_first_value=status.days_to_first_value,
            history_events=sum(len(h) for h in histories),
            runs=len(histories),
            timeline=sorted(timeline, key=timeline_order),
            human_touches=human,
            seconds=round(time.monotonic() - started, 2),
        )

    def _contract(self, scenario: Scenario, segment: Segment, now: datetime) -> Contract:
        """The scenario's contract, signed now, for this segment, under an account id of its own.

        Each simulation has a database of its own, so the team it gets is the one a fresh
        roster gives; the account id only has to be new to the server, which outlives runs.
        """
        data = dict(scenario.contract_data(segment))
        data["account_id"] = f"{str(data.get('account_id', 'simulated'))[:40]}-sim-{uuid.uuid4().hex[:8]}"
        data["segment"] = segment
        try:
            return parse_contract(json.dumps(data, default=str), now=now)
        except ContractError as e:
            raise ScenarioError(
                "\n".join(f"{scenario.source}: contract.{line}" for line in str(e).splitlines())
            ) from None

    def _timeline(self, account_id: str, signed_at: datetime) -> list[Entry]:
        """The sink's emails and the activities' timeline rows, in the order the workflow ran them."""
        with Session(self.engine) as db:
            rows = db.exec(select(TimelineEvent).where(TimelineEvent.account_id == account_id)).all()
        found: list[tuple[str, Entry]] = []
        for row in rows:
            if row.kind == "email":
                continue  # the sink is the record of email
            at = row.at.replace(tzinfo=signed_at.tzinfo)
            entry = Entry(at=at, day=day_of(at, signed_at), kind=row.kind, name=row.name, to=row.to, detail=row.detail)
            found.append((row.key.removesuffix("#opened"), entry))
        for sent in self.sink.sent(account_id):
            day = day_of(sent.at, signed_at)
            found.append(
                (
                    sent.key,
                    Entry(at=sent.at, day=day, kind="email", name=sent.template, to=sent.role, detail=sent.subject),
                )
            )

        def when(pair: tuple[str, Entry]) -> tuple[datetime, float]:
            position = self.order.position(pair[0])
            return (pair[1].at, float("inf") if position is None else position)

        return [entry for _, entry in sorted(found, key=when)]


def _empty_database(path: Path, roster_file: Path) -> None:
    """The migrated schema, with the staff roster loaded as the first assignment would load it."""
    url = f"sqlite:///{path}"
    upgrade(url)
    with contextlib.suppress(RosterError), Session(engine(url)) as db:
        seed_if_empty(db, roster_file)  # a broken roster: left empty, every simulation reports it
    engine(url).dispose()


def _scratch(connection: sqlite3.Connection, _record: object) -> None:
    """A simulation database is thrown away: its commits need not wait for the disk."""
    connection.execute("PRAGMA synchronous=OFF")
