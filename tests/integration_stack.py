"""The intake app for integration tests: the real app, its lifespan (the CRM processor runs),
called over ASGI in the test's own event loop, with the time-skipping server's client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, col, select
from temporalio.client import Client

from adapters.config import Settings
from adapters.db import engine
from adapters.integration_tables import CrmInbox
from intake.app import IntakeSettings, create_app


@pytest.fixture
def local_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        if server.is_running():
            server.stop()


@contextlib.asynccontextmanager
async def intake(client: Client, task_queue: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """The intake as deployed (every router, the CRM processor), answering in this event loop;
    onboardings start on `task_queue` (the test's worker)."""
    app = create_app(IntakeSettings(secret="s" * 32, max_body=65536, max_skew=300))
    app.state.client = client
    if task_queue:
        app.state.task_queue = task_queue
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as http:
            http.app = app  # type: ignore[attr-defined]  # for tests that wake the CRM processor
            yield http


async def settled_inbox(settings: Settings, count: int, timeout: float = 20.0) -> list[CrmInbox]:
    """Wait (real time) until `count` notifications are stored and none is pending; returns them all."""
    rows: list[CrmInbox] = []
    for _ in range(int(timeout / 0.05)):
        with Session(engine(settings.database_url)) as db:
            rows = list(db.exec(select(CrmInbox).order_by(col(CrmInbox.id))).all())
        if len(rows) >= count and all(r.status != "pending" for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"the CRM inbox did not settle: {[(r.event_id, r.status, r.outcome) for r in rows]}")


def rows_where(settings: Settings, predicate: Callable[[CrmInbox], bool]) -> list[CrmInbox]:
    with Session(engine(settings.database_url)) as db:
        return [r for r in db.exec(select(CrmInbox)).all() if predicate(r)]
