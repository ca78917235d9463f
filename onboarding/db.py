"""The engine's own records: sqlmodel tables and the engine (SQLite by default, DATABASE_URL for PostgreSQL).

Every row the workflow causes has a unique `key` derived from the workflow id, so an activity
that runs twice (a retry after a crash or timeout) finds its row and writes nothing new.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, create_engine


class TimelineEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    at: datetime = Field(index=True)
    kind: str = Field(max_length=20)
    name: str = Field(max_length=100)
    actor: str = Field(max_length=100)
    to: str | None = Field(default=None, max_length=40)
    detail: str = ""


class OutboxEmail(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=100)
    template: str = Field(max_length=60)
    to_role: str = Field(max_length=40)
    to_email: str = Field(max_length=254)
    subject: str
    text: str
    html: str
    status: str = Field(default="pending", max_length=20)
    backend: str = Field(max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=200)
    created_at: datetime
    sent_at: datetime | None = None


class HumanTask(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=100)
    kind: str = Field(default="escalation", max_length=20)
    rule: str = Field(max_length=100)
    reason: str
    to_role: str = Field(max_length=40)
    assignee: str = Field(max_length=64)
    status: str = Field(default="open", max_length=20)
    opened_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=100)
    resolution: str = ""


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


@lru_cache(maxsize=8)
def engine(url: str) -> Engine:
    """One engine per URL; SQLite gets WAL and a busy timeout so workers and scripts share it."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(eng, "connect", _sqlite_pragmas)
    else:
        eng = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(eng)
    return eng
