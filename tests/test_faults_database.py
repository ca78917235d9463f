"""The engine's database unreachable for a while: activities fail, retry, and every onboarding
completes once it is back, with nothing written twice.

The worker (`python worker.py`, a real process) reaches PostgreSQL only through a TCP proxy of
this test's own. In the middle of a batch the proxy severs every open connection (commits in
flight lose their answer) and refuses new ones while nudges and escalations fall due, then lets
connections through again. Real time, the compressed SMB playbook, the Temporal dev server.
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import pytest

import starter
from onboarding.playbook import Playbook
from tests.faults import activities_retried, audit, everyone_escalated, first_runs, resolve_and_log_in, validate_success
from tests.test_scale_out import Cluster, cluster, dev_server, each, fast, signed, until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["cluster", "dev_server", "fast"]  # fixtures shared with the scale-out tests

BATCH = 24
CUT_FOR = 6.0  # seconds: the 2 s nudges and 4 s escalations of the batch fall due while it lasts
POSTGRES_PORT = 5432


class DatabaseProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL until cut; counts what the cut broke."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.cut_off = False
        self.severed = 0  # open connections dropped by the cut
        self.refused = 0  # connections turned away while it lasted
        self._open: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        self.cut_off = True
        for client, upstream in list(self._open):
            client.transport.abort()
            upstream.transport.abort()
            self.severed += 1
        self._open.clear()

    def restore(self) -> None:
        self.cut_off = False

    async def _connect(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        if self.cut_off:
            self.refused += 1
            client_out.transport.abort()
            return
        upstream_in, upstream_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        pair = (client_out, upstream_out)
        self._open.add(pair)
        try:
            await asyncio.gather(_pipe(client_in, upstream_out), _pipe(upstream_in, client_out))
        finally:
            self._open.discard(pair)
            for writer in pair:
                writer.transport.abort()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    sink.transport.abort()


async def test_the_database_cut_off_mid_batch_then_restored_loses_nothing(cluster: Cluster, fast: Playbook) -> None:
    proxy = DatabaseProxy(POSTGRES_PORT)
    await proxy.start()
    try:
        database = cluster.database_url.rsplit("/", 1)[1]
        worker = cluster.start_worker("only", DATABASE_URL=f"postgresql+psycopg://127.0.0.1:{proxy.port}/{database}")
        await worker.polling()
        accounts = [f"dbcut-{i:03d}" for i in range(BATCH)]
        handles = await each(accounts, lambda a: starter.start(cluster.client, signed(a), fast))
        runs = {h.id: h.result_run_id for h in handles}

        welcomed = "SELECT count(*) FROM outboxemail WHERE template = 'welcome' AND status = 'sent'"
        with psycopg.connect(cluster.database_url.replace("+psycopg", ""), autocommit=True) as watch:  # not proxied

            def sent_welcomes() -> int:
                row = watch.execute(welcomed).fetchone()
                return int(row[0]) if row else 0

            await until("a third of the welcomes sent", lambda: sent_welcomes() >= BATCH // 3, 120)
        proxy.cut()
        await asyncio.sleep(CUT_FOR)
        proxy.restore()

        await everyone_escalated(cluster, BATCH)
        await resolve_and_log_in(cluster, accounts)
        await validate_success(cluster, accounts)
        assert worker.proc.poll() is None, "the worker rode the outage out"
    finally:
        await proxy.stop()

    retried = sum(activities_retried(h) for h in await first_runs(cluster.client, runs))
    assert proxy.severed >= 1 and proxy.refused >= 1 and retried >= 1
    faults = (
        f"1 cut of {CUT_FOR:.0f} s: {proxy.severed} open connections severed, {proxy.refused} refused;"
        f" {retried} activities completed on a retry"
    )
    audit("database unreachable", faults, cluster.database_url, accounts)
