"""The engine's own records: sqlmodel tables and the engine (SQLite by default, DATABASE_URL for PostgreSQL).

Every row the workflow causes has a unique `key` derived from the workflow id, so an activity
that runs twice (a retry after a crash or timeout) finds its row and writes nothing new.
The schema is owned by the alembic migrations in migrations/: `python admin.py db upgrade`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import Field, Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


class Account(SQLModel, table=True):
    account_id: str = Field(primary_key=True, max_length=64)
    company: str = Field(max_length=200)
    segment: str = Field(index=True, max_length=20)
    locale: str = Field(max_length=8)
    acv: Decimal = Field(max_digits=12, decimal_places=2)
    employees: int
    created_at: datetime


class Onboarding(SQLModel, table=True):
    """One onboarding as the engine last reported it: a projection of the timeline."""

    workflow_id: str = Field(primary_key=True, max_length=100)
    account_id: str = Field(index=True, max_length=64, foreign_key="account.account_id")
    segment: str = Field(index=True, max_length=20)
    phase: str = Field(max_length=60)
    status: str = Field(default="active", index=True, max_length=20)
    health: str = Field(default="green", max_length=10)
    owner: str = Field(index=True, max_length=64)
    specialist: str | None = Field(default=None, index=True, max_length=64)
    manager: str | None = Field(default=None, index=True, max_length=64)
    ongoing: str | None = Field(default=None, index=True, max_length=64, description="the ongoing CSM after hand-over")
    over_capacity: str | None = Field(default=None, description="why the team was assigned beyond capacity")
    signed_at: datetime
    first_value_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = Field(default=None, max_length=40)
    updated_at: datetime


class TimelineEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    at: datetime = Field(index=True)
    kind: str = Field(index=True, max_length=20)
    name: str = Field(max_length=100)
    actor: str = Field(max_length=300)
    to: str | None = Field(default=None, max_length=40)
    detail: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    """The entry's facts as fields (survey scores, owner id, touch name) for reports to read."""
    seq: int = 0
    """The journey's order: rows of one moment read in the order they happened (at, seq, id)."""


class HumanTask(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=100)
    kind: str = Field(default="escalation", max_length=20)
    rule: str = Field(max_length=100)
    reason: str
    to_role: str = Field(max_length=40)
    assignee: str = Field(index=True, max_length=64)
    status: str = Field(default="open", index=True, max_length=20)  # open | resolved | cancelled
    opened_at: datetime
    occurrences: int = Field(default=1, description="how often the problem happened while the task was open")
    last_seen_at: datetime | None = Field(default=None, description="when it last happened, if more than once")
    due_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = Field(default=None, max_length=300)
    resolution: str = ""


class Staff(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    role: str = Field(index=True, max_length=40)
    segments: list[str] = Field(sa_column=Column(JSON, nullable=False))
    capacity: int
    active: bool = True
    locale: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=60)
    slack_id: str | None = Field(default=None, max_length=40, description="their Slack member id (U...)")
    booking_url: str | None = Field(default=None, max_length=500, description="their meeting booking page")


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
    status: str = Field(default="pending", index=True, max_length=20)
    backend: str = Field(max_length=20)
    provider_message_id: str | None = Field(default=None, max_length=200)
    error: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    seq: int = 0
    """The journey's order of the touch: its timeline row carries it."""


class Suppression(SQLModel, table=True):
    """An address not to email again: unsubscribed, bounced hard, or reported spam."""

    email: str = Field(primary_key=True, max_length=254)
    reason: str = Field(max_length=40)
    created_at: datetime


class WebhookEvent(SQLModel, table=True):
    """Provider webhook events already applied, so a redelivery is applied once."""

    event_id: str = Field(primary_key=True, max_length=200)
    source: str = Field(max_length=40)
    received_at: datetime


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


@lru_cache(maxsize=8)
def engine(url: str) -> Engine:
    """One engine per URL; SQLite gets WAL and a busy timeout so workers and scripts share it.

    `hide_parameters`: a failed statement's error names the SQL but not its values, so a
    locked database or a lost connection never carries a contact's name or address into a
    log line or a Temporal failure.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, hide_parameters=True)
        event.listen(eng, "connect", _sqlite_pragmas)
        return eng
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def insert_new(db: Session, table: type[SQLModel], unique: str) -> Insert:
    """An INSERT that skips rows whose `unique` column is already stored (ON CONFLICT DO
    NOTHING), on SQLite and PostgreSQL alike: one statement, where a lookup first takes two."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    core_table = table.__table__  # type: ignore[attr-defined]  # the Table: no ORM bulk-insert bookkeeping
    return dialect.insert(core_table).on_conflict_do_nothing(index_elements=[unique])


def upgrade(url: str) -> None:
    """Create or upgrade the schema to the newest migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    command.upgrade(config, "head")
