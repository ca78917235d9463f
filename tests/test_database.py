"""The schema comes from the migrations, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from adapters.db import MIGRATIONS, HumanTask, Onboarding, TimelineEvent, engine, upgrade

TABLES = {
    "account",
    "onboarding",
    "timelineevent",
    "humantask",
    "staff",
    "outboxemail",
    "suppression",
    "webhookevent",
    "crminbox",  # integrations (0006)
    "crmlink",
    "chatnotice",
    "portalrevocation",
    "portalcode",
    "portalsubmission",
    "alembic_version",
}


@pytest.mark.postgres
def test_migrations_build_the_schema_on_postgres(postgres_url: str) -> None:
    assert set(inspect(engine(postgres_url)).get_table_names()) == TABLES


def test_migrations_build_the_schema_on_sqlite_and_run_twice(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    upgrade(url)
    assert set(inspect(engine(url)).get_table_names()) == TABLES


def alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema yet: a SQLite file, or a fresh PostgreSQL database taken back to base."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'x.db'}"
    url: str = request.getfixturevalue("postgres_url")
    command.downgrade(alembic(url), "base")
    return url


def test_upgrading_a_0001_database_keeps_its_onboardings(empty_url: str) -> None:
    command.upgrade(alembic(empty_url), "0001")
    signed = datetime(2026, 3, 2, 9, tzinfo=UTC)
    with engine(empty_url).begin() as db:
        db.execute(
            text(
                "INSERT INTO account (account_id, company, segment, locale, acv, employees, created_at) "
                "VALUES ('acme', 'Acme', 'smb', 'en', 4800, 35, :at)"
            ),
            {"at": signed},
        )
        db.execute(
            text(
                "INSERT INTO onboarding (workflow_id, account_id, segment, phase, status, health, owner, "
                "signed_at, updated_at) VALUES ('onboarding-acme', 'acme', 'smb', 'early_training', 'active', "
                "'green', 'csm-leo', :at, :at)"
            ),
            {"at": signed},
        )

    upgrade(empty_url)
    with Session(engine(empty_url)) as db:
        row = db.get(Onboarding, "onboarding-acme")
    assert row is not None
    assert (row.phase, row.owner, row.manager, row.over_capacity, row.signed_at) == (
        "early_training",
        "csm-leo",
        None,
        None,
        signed,
    )

    command.downgrade(alembic(empty_url), "0001")
    assert "manager" not in {c["name"] for c in inspect(engine(empty_url)).get_columns("onboarding")}
    upgrade(empty_url)
    assert {"manager", "over_capacity"} <= {c["name"] for c in inspect(engine(empty_url)).get_columns("onboarding")}


def test_upgrading_a_0002_database_gives_old_rows_their_defaults(empty_url: str) -> None:
    command.upgrade(alembic(empty_url), "0002")
    at = datetime(2026, 3, 9, 9, tzinfo=UTC)
    with engine(empty_url).begin() as db:
        db.execute(
            text(
                "INSERT INTO timelineevent (key, account_id, at, kind, name, actor, detail) "
                "VALUES ('onboarding-acme:1', 'acme', :at, 'event', 'first_login', 'customer', '')"
            ),
            {"at": at},
        )
        db.execute(
            text(
                "INSERT INTO humantask (key, account_id, workflow_id, kind, rule, reason, to_role, assignee, "
                "status, opened_at, resolution) VALUES ('onboarding-acme/no_login_7d.1', 'acme', "
                "'onboarding-acme', 'escalation', 'no_login_7d', 'No login', 'csm', 'csm-leo', 'open', :at, '')"
            ),
            {"at": at},
        )

    upgrade(empty_url)
    with Session(engine(empty_url)) as db:
        event = db.exec(select(TimelineEvent)).one()
        task = db.exec(select(HumanTask)).one()
    assert event.data == {}
    assert (task.occurrences, task.last_seen_at) == (1, None)

    command.downgrade(alembic(empty_url), "0002")
    assert "data" not in {c["name"] for c in inspect(engine(empty_url)).get_columns("timelineevent")}
