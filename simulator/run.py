"""Drive one customer journey through the real workflow, day by day, on the time-skipping server.

The real workflow runs the real playbook with the real activities, except that email goes to
an in-memory sink (still rendered) and the database is a throwaway SQLite file, reset to the
empty schema before each simulation, used by the simulator's worker whose activities are built
from the simulator's Settings (nothing is read from or written to os.environ). That worker runs
the workflow outside the SDK's sandbox: the sandbox guards workflow code against
nondeterminism (the production worker and the tests keep it), and re-enters it for every
payload, a third of the simulator's time. The scenario's actions are sent by
their catalogue names (service.send) at their virtual day; an update the workflow refuses
becomes a `rejected` line. Before each action the run waits until the workflow is idle, so a
rule due at the very moment of an action always acts first and every run of a scenario gives
the same timeline.
"""

from __future__ import annotations

import asyncio
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
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import event
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import FailureError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

import activities
from adapters.config import Settings
from adapters.db import TimelineEvent, engine, upgrade
from adapters.staff import RosterError, seed_if_empty
from connection import binary, register_search_attributes
from onboarding.messages import ProductEvent
from onboarding.models import Contract, Segment, Status
from onboarding.playbook import Playbook
from service import send
from service.start import ContractError, parse_contract, start
from simulator import history
from simulator.order import EffectOrder
from simulator.scenario import Scenario, ScenarioError, Step
from simulator.sink import EmailSink
from simulator.timeline import Entry, day_of, timeline_order
from workflows.onboarding import OnboardingWorkflow

DAY = timedelta(days=1)
SETTLE_TIMEOUT = 60.0  # wall seconds a workflow may stay busy at one virtual moment
TIMER_GUARD = timedelta(seconds=60)  # an action this close before a timer waits for it (see clear_of_timers)
HUMAN_TOUCHES = {"kickoff_done", "log_touch"}  # CSM actions that are a contact with the customer
INTERNAL_TOUCHES = {"sales_handover"}  # logged touches that never reach the customer


class SimulationError(RuntimeError):
    """The engine could not run the scenario (a workflow bug, a stuck run)."""


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
        journey = _Journey(self, contract, first_run)
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


def _reason(error: WorkflowUpdateFailedError) -> str:
    """The innermost message: the validator's words, or the activity's (an unknown staff id)."""
    cause: BaseException | None = error.cause
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, FailureError) else str(error)


class _Journey:
    """One onboarding being simulated: its clock, its actions, and the watch for broken templates."""

    def __init__(self, sim: Simulator, contract: Contract, first_run: str) -> None:
        assert contract.signed_at, "parse_contract stamps signed_at"
        self.sim, self.contract, self.signed_at = sim, contract, contract.signed_at
        self.handle: WorkflowHandle[Any, Any] = sim.client.get_workflow_handle(contract.workflow_id)
        self.watch = history.Watch(sim.client, contract.workflow_id, first_run)

    async def play(self, steps: tuple[Step, ...], days: float) -> tuple[list[Entry], int]:
        """Every action at its day, then on to the last day; (rejected lines, human touches)."""
        rejected: list[Entry] = []
        human = 0
        for step in steps:
            await self.clear_of_timers(self.signed_at + step.day * DAY)
            refusal = await self.act(step)
            if refusal is not None:
                at = await self.sim.env.get_current_time()
                rejected.append(
                    Entry(
                        at=at,
                        day=day_of(at, self.signed_at),
                        kind="rejected",
                        name=step.action,
                        to=None,
                        detail=refusal,
                    )
                )
            elif step.action in HUMAN_TOUCHES and step.args.get("touch") not in INTERNAL_TOUCHES:
                human += 1
        await self.clear_of_timers(self.signed_at + days * DAY)  # a timer due at the very end fires whole
        return rejected, human

    async def clear_of_timers(self, at: datetime) -> None:
        """Run to `at`; a timer due within TIMER_GUARD after it fires first, and then the action goes.

        The time-skipping server refuses a workflow task that cancels a timer it fired meanwhile,
        and the run then hangs: a signal or update that ends a wait a moment before its timer does
        exactly that. Moving the action past the timer (seconds, invisible at the timeline's
        hundredth of a day) keeps the rule documented for actions: what is due fires first.
        """
        clock = await self.until(at)
        while (due := self.watch.next_timer()) is not None:
            if due > clock + TIMER_GUARD:
                return
            clock = await self.until(due + timedelta(milliseconds=1))

    async def until(self, at: datetime) -> datetime:
        """Let virtual time run to `at`, then wait until the workflow has done all that was due.

        Returns the virtual time it ran to: the server's clock, read before, or `at` (the clock
        has moved on since only by the wall milliseconds the look for idleness took)."""
        now = await self.sim.env.get_current_time()
        if at > now:
            await self.sim.env.sleep(at - now)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not await self.idle():
            if time.monotonic() > deadline:
                raise SimulationError(f"the workflow stayed busy for {SETTLE_TIMEOUT:g} s at one virtual moment")
            await asyncio.sleep(0.005)
        self.check_templates()
        return max(now, at)

    async def idle(self) -> bool:
        try:
            return await self.watch.idle()
        except history.WorkflowTaskFailed as e:
            raise SimulationError(f"the workflow failed while running the playbook: {e}") from None

    def check_templates(self) -> None:
        """A template that did not render ends the simulation at the first quiet moment after."""
        failures = self.sim.sink.failures(self.contract.account_id)
        if failures:
            f = failures[0]
            day = day_of(f.at, self.signed_at)
            raise SimulationError(f"day {day:g}: template {f.template!r} (to {f.role}) does not render: {f.error}")

    async def act(self, step: Step) -> str | None:
        """Send one action; the workflow's reason if it refuses it."""
        message = step.message(self.signed_at)
        try:
            if isinstance(message, ProductEvent):
                await send.signal(self.handle, message)
            else:
                await send.act(self.handle, message)
        except WorkflowUpdateFailedError as e:
            return _reason(e)
        except RPCError as e:
            if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
            return "the onboarding is over: its workflow has closed"
        return None

    async def status(self) -> Status:
        return await self.handle.query(OnboardingWorkflow.get_status)

    async def end(self) -> None:
        with contextlib.suppress(RPCError):
            await self.handle.terminate("simulation over")
