"""The Temporal dev server stopped and restarted on its persisted database in the middle of a
batch: the worker and the clients wait it out, timers due meanwhile fire late, every onboarding
ends as it would have, nothing twice.

Real processes (the `temporal` dev server with --db-filename, `python worker.py`, PostgreSQL),
in real time on the compressed SMB playbook.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import pytest_asyncio
from sqlalchemy import func
from sqlmodel import select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import starter
from adapters.db import HumanTask, engine
from connection import binary
from onboarding.playbook import Playbook
from stack import SA_TYPES, wait_for_port
from tests.faults import audit, everyone_escalated, resolve_and_log_in, validate_success
from tests.test_scale_out import Cluster, each, fast, free_port, signed, until
from workflows import attributes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["fast"]  # a fixture shared with the scale-out tests

BATCH = 30
DOWN_FOR = 3.0  # seconds: long enough that nudges and escalations fall due while the server is away


@dataclass
class PersistedServer:
    """A dev server whose state lives in a file, so it can be stopped and started again."""

    port: int
    db_file: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        command += ["--port", str(self.port), "--db-filename", str(self.db_file), "--log-level", "error"]
        for key in attributes.ALL:
            command += ["--search-attribute", f"{key.name}={SA_TYPES[int(key.indexed_value_type)]}"]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=out)
        wait_for_port(self.port, self.proc)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PersistedServer]:
    server = PersistedServer(free_port(), tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.stop()


@pytest_asyncio.fixture
async def cluster(server: PersistedServer, postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as db:
        db.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    address = f"127.0.0.1:{server.port}"
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    cluster = Cluster(address, postgres_url, tmp_path, client)
    try:
        yield cluster
    finally:
        for worker in cluster.workers:
            if worker.proc.poll() is None:
                worker.proc.kill()
            worker.proc.wait(timeout=15)
        engine(postgres_url).dispose()


async def test_the_server_restarted_on_its_database_mid_batch_loses_nothing(
    server: PersistedServer, cluster: Cluster, fast: Playbook
) -> None:
    worker = cluster.start_worker("only")
    await worker.polling()
    accounts = [f"restart-{i:03d}" for i in range(BATCH)]
    await each(accounts, lambda a: starter.start(cluster.client, signed(a), fast))

    escalated = select(func.count()).select_from(HumanTask).where(HumanTask.rule == "no_login_escalation")
    await until("a third of the escalations", lambda: cluster.count(escalated) >= BATCH // 3, 120)
    in_flight = BATCH - cluster.count(escalated)
    exit_code = await asyncio.to_thread(server.stop)
    assert worker.proc.poll() is None
    await asyncio.sleep(DOWN_FOR)
    await asyncio.to_thread(server.start)

    await until("the server answers again", lambda: _answers(cluster.client), 60)
    await everyone_escalated(cluster, BATCH)
    await resolve_and_log_in(cluster, accounts)
    await validate_success(cluster, accounts)

    assert worker.proc.poll() is None, "the worker waited the outage out"
    faults = f"1 server stop (exit {exit_code}) with {in_flight} onboardings not yet escalated, {DOWN_FOR:.0f} s down"
    audit("Temporal server restart", faults + ", restart on its database", cluster.database_url, accounts)


async def _answers(client: Client) -> bool:
    try:
        await client.count_workflows()
    except Exception:
        return False
    return True
