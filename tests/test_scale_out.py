"""Scale-out, proved with real processes: `python worker.py` several times over, one Temporal dev
server, one PostgreSQL database.

These run in real time on the compressed SMB playbook (tests/playbooks/smb_fast.yaml, a day is
about a second), because what they prove is about processes: several workers share one batch,
a worker killed with SIGKILL loses nothing, SIGTERM lets the email in flight finish and exits 0.
Journey timing itself is tested on the time-skipping server elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

import starter
from adapters import staff
from adapters.db import HumanTask, Onboarding, OutboxEmail, TimelineEvent, engine
from adapters.email.render import available
from connection import binary
from onboarding import playbook
from onboarding.messages import ProductEvent, ResolveEscalation, SuccessCriteriaMet
from onboarding.playbook import Playbook
from service import send
from stack import SA_TYPES, wait_for_port
from tests.conftest import contract
from workflows import attributes
from workflows.onboarding import OnboardingWorkflow as W

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
FAST = ROOT / "tests" / "playbooks" / "smb_fast.yaml"
STAFF = ROOT / "tests" / "playbooks" / "scale_staff.yaml"
BATCH = 200
ESCALATION = "no_login_escalation.1"  # the compressed playbook's one escalation (see smb_fast.yaml)
T = TypeVar("T")
Onboard = WorkflowHandle[W, Any]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class WorkerProcess:
    """One `python worker.py`, its JSON log in a file and its Prometheus endpoint."""

    proc: subprocess.Popen[bytes]
    log: Path
    metrics_port: int

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]

    async def polling(self, seconds: float = 60) -> None:
        await until("the worker polls", lambda: any("worker polling" in e["message"] for e in self.lines()), seconds)

    def metrics(self) -> dict[str, float]:
        """Every series on the Prometheus endpoint, summed over its labels, by name."""
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        totals: dict[str, float] = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name = line.split("{")[0].split(" ")[0]
                totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
        return totals


@dataclass
class Cluster:
    """A dev server, the engine's PostgreSQL database and the workers started on them."""

    address: str
    database_url: str
    folder: Path
    client: Client
    workers: list[WorkerProcess] = field(default_factory=list)

    def start_worker(self, name: str, **env: str) -> WorkerProcess:
        settings = {
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "DATABASE_URL": self.database_url,
            "OUTBOX_DIR": str(self.folder / "outbox"),
            "STAFF_FILE": str(STAFF),
            "EMAIL_BACKEND": "outbox",
            "WORKER_METRICS_PORT": str(free_port()),
            # Failover, not saturation: a killed worker's queued tasks move on after the SDK's 10 s,
            # not the 60 s a busy production worker keeps them (what is tested holds either way).
            "WORKER_STICKY_QUEUE_SECONDS": "10",
        }
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "WORKER_"))}
        log = self.folder / f"worker-{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env={**inherited, **settings, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(proc, log, int(settings["WORKER_METRICS_PORT"]))
        self.workers.append(worker)
        return worker

    def count(self, query: Any) -> int:
        with Session(engine(self.database_url)) as db:
            return int(db.exec(query).one())

    def onboarding(self, account_id: str) -> Onboard:
        return self.client.get_workflow_handle_for(W.run, f"onboarding-{account_id}")


async def until(what: str, check: Callable[[], bool | Awaitable[bool]], seconds: float) -> None:
    """Wait for `check` to hold, looking twice a second; fail saying what never happened."""
    deadline = time.monotonic() + seconds
    while not await _holds(check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds:.0f}s waiting for {what}")
        await asyncio.sleep(0.5)


async def _holds(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else bool(result)


async def each(items: Iterable[T], action: Callable[[T], Awaitable[Any]], at_once: int = 40) -> list[Any]:
    """Run `action` on every item, at most `at_once` at a time, as a busy CRM and CS team would."""
    gate = asyncio.Semaphore(at_once)

    async def one(item: T) -> Any:
        async with gate:
            return await action(item)

    return await asyncio.gather(*(one(item) for item in items))


@contextlib.contextmanager
def dev_server_running(folder: Path, search_attributes: bool = True) -> Iterator[str]:
    """A real Temporal dev server (in memory) on free ports; its address while it runs."""
    port = free_port()
    command = [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "error"]
    for key in attributes.ALL if search_attributes else ():
        command += ["--search-attribute", f"{key.name}={SA_TYPES[int(key.indexed_value_type)]}"]
    with (folder / "temporal.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(port, server)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[str]:
    """The dev server with the engine's search attributes registered, as stack.py starts it."""
    with dev_server_running(tmp_path) as address:
        yield address


@pytest_asyncio.fixture
async def cluster(dev_server: str, postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """The dev server and a private PostgreSQL database, the workers' to share.

    Commits skip the wait for the disk flush (synchronous_commit off): the processes killed
    here are workers, not PostgreSQL, so every committed row stays visible, and a few
    thousand commits do not queue on a shared disk.
    """
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as db:
        db.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    client = await Client.connect(dev_server, data_converter=pydantic_data_converter)
    cluster = Cluster(dev_server, postgres_url, tmp_path, client)
    try:
        yield cluster
    finally:
        for worker in cluster.workers:
            if worker.proc.poll() is None:
                worker.proc.kill()
            worker.proc.wait(timeout=15)
        engine(postgres_url).dispose()


@pytest.fixture
def fast() -> Playbook:
    return playbook.load(FAST, available())


def signed(account_id: str) -> Any:
    return starter.parse_contract(json.dumps(contract("smb", account_id=account_id)))


ADDRESSES = [  # every person's address the batch knows: the customer's contacts and the CS team
    *(person["email"] for person in (*contract("smb")["contacts"], contract("smb")["sales_rep"])),
    *(person.email for person in staff.load(STAFF).people),
]

# ---- several workers, one batch, one of them killed ------------------------------------------

EMAILS_EACH = Counter(
    {
        "welcome": 1,  # on signing
        "reengagement": 1,  # no login after 2 s
        "escalation": 1,  # no login after 4 s: the CSM is told
        "milestone_celebration": 1,  # setup ends on the first login
        "success_survey": 1,  # the success check begins
        "onboarding_complete": 1,  # the CSM records success
    }
)
TIMELINE_EACH = Counter(
    {
        ("phase", "self_serve_setup"): 1,
        **{("email", template): n for template, n in EMAILS_EACH.items()},
        ("escalation", "no_login_escalation"): 1,
        ("event", "first_login"): 1,
        ("phase", "success_validation"): 1,
        ("action", "success_criteria_met"): 1,
        ("completed", "onboarding_complete"): 1,
        ("action", "resolve_escalation"): 1,
    }
)
TIMING = {"health"}  # health follows the clock (behind plan, open escalation): never asserted here


async def test_workers_share_a_batch_and_a_killed_worker_loses_nothing(cluster: Cluster, fast: Playbook) -> None:
    doomed, *survivors = [cluster.start_worker(name) for name in ("doomed", "second", "third")]
    for worker in (doomed, *survivors):
        await worker.polling()
    accounts = [f"scale-{i:04d}" for i in range(BATCH)]
    await each(accounts, lambda account: starter.start(cluster.client, signed(account), fast))

    # Nobody logs in: every customer is nudged, then escalated. Partway through, a worker dies hard.
    escalated = select(func.count()).select_from(HumanTask).where(HumanTask.rule == "no_login_escalation")
    await until("a third of the escalations", lambda: cluster.count(escalated) >= BATCH // 3, 300)
    doomed.proc.send_signal(signal.SIGKILL)
    await until("every customer escalated", lambda: cluster.count(escalated) == BATCH, 300)

    # The CSMs call their customers and close the escalation; the customers log in; setup ends.
    resolve = ResolveEscalation(escalation=ESCALATION, note="called them")
    await each(accounts, lambda a: send.act(cluster.onboarding(a), resolve))
    await each(accounts, lambda a: send.signal(cluster.onboarding(a), ProductEvent(name="first_login")))
    validating = select(func.count()).select_from(Onboarding).where(Onboarding.phase == "success_validation")
    await until("every customer at the success check", lambda: cluster.count(validating) == BATCH, 300)
    # The success check: the CSMs record that the success criteria are met.
    success = SuccessCriteriaMet(evidence="bookings live")
    await each(accounts, lambda a: send.act(cluster.onboarding(a), success))
    done = select(func.count()).select_from(Onboarding).where(Onboarding.status == "completed")
    await until("every onboarding complete", lambda: cluster.count(done) == BATCH, 300)
    all_sent = select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "sent")
    await until("every email sent", lambda: cluster.count(all_sent) == BATCH * EMAILS_EACH.total(), 300)  # its own lane

    assert doomed.proc.wait(timeout=5) == -signal.SIGKILL
    assert any(e["message"].startswith("email sent") for e in doomed.lines()), "it had taken part in the batch"
    assert all(worker.proc.poll() is None for worker in survivors)
    resolved = select(func.count()).select_from(HumanTask).where(HumanTask.status == "resolved")
    assert cluster.count(resolved) == BATCH
    with Session(engine(cluster.database_url)) as db:
        emails = db.exec(
            select(OutboxEmail.account_id, OutboxEmail.key, OutboxEmail.template, OutboxEmail.status)
        ).all()
        timeline = db.exec(
            select(TimelineEvent.account_id, TimelineEvent.key, TimelineEvent.kind, TimelineEvent.name)
        ).all()
    # Nothing twice: each email key and timeline key once, and every customer got exactly their journey.
    assert len({key for _, key, _, _ in emails}) == len(emails) == BATCH * EMAILS_EACH.total()
    assert {status for *_, status in emails} == {"sent"}
    assert len({key for _, key, _, _ in timeline}) == len(timeline)
    for account in accounts:
        assert Counter(t for a, _, t, _ in emails if a == account) == EMAILS_EACH, account
        assert Counter((k, n) for a, _, k, n in timeline if a == account and k not in TIMING) == TIMELINE_EACH, account

    # Temporal agrees: every run has moved on to its post-onboarding check-in cadence.
    in_cadence = 'OnboardingPhase = "completed" AND ExecutionStatus = "Running"'

    async def all_in_cadence() -> bool:
        return (await cluster.client.count_workflows(in_cadence)).count == BATCH

    await until("Temporal's visibility to show every run in its check-in cadence", all_in_cadence, 30)

    # The survivors export the SDK's metrics and the engine's own counters for Prometheus.
    metrics = [worker.metrics() for worker in survivors]
    assert all(m["temporal_workflow_task_execution_latency_count"] > 0 for m in metrics)
    assert all(m["temporal_activity_execution_latency_count"] > 0 for m in metrics)
    assert 0 < sum(m["onboarding_emails_sent"] for m in metrics) <= len(emails)
    assert 0 < sum(m["onboarding_escalations_opened"] for m in metrics) <= BATCH
    # Their logs are JSON lines that carry the workflow id, and no contact's email address.
    for worker in survivors:
        sent = [e for e in worker.lines() if e["message"].startswith("email sent")]
        assert sent and all(e["workflow_id"].startswith("onboarding-scale-") for e in sent)
        log = worker.log.read_text()
        assert not [address for address in ADDRESSES if address in log]


# ---- graceful shutdown -------------------------------------------------------------------------


async def test_sigterm_lets_the_email_in_flight_finish_then_exits_0(cluster: Cluster, fast: Playbook) -> None:
    worker = cluster.start_worker("only", WORKER_GRACEFUL_SHUTDOWN_SECONDS="20")
    await worker.polling()
    url = cluster.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as hold, psycopg.connect(url, autocommit=True) as watch:
        # Hold the outbox so the welcome email's activity is stuck mid-flight until we let go.
        hold.execute("LOCK TABLE outboxemail IN ACCESS EXCLUSIVE MODE")
        handle = await starter.start(cluster.client, signed("graceful"), fast)
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        await until("the email activity waiting on the outbox", lambda: _one(watch, waiting) > 0, 30)

        worker.proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(2)
        assert worker.proc.poll() is None, "the worker waits for the activity in flight"
        hold.rollback()  # let the email through

    assert worker.proc.wait(timeout=30) == 0
    with Session(engine(cluster.database_url)) as db:
        welcome = db.exec(select(OutboxEmail).where(col(OutboxEmail.template) == "welcome")).one()
    assert welcome.status == "sent"
    history = await handle.fetch_history()
    completed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    finished = [scheduled[e.activity_task_completed_event_attributes.scheduled_event_id] for e in completed]
    assert "send_email" in finished, "the email's completion reached Temporal before the worker left"
    messages = [e["message"] for e in worker.lines()]
    assert any(m.startswith("stopping") for m in messages) and messages[-1] == "worker stopped"


def _one(conn: psycopg.Connection[Any], query: str) -> int:
    row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0
