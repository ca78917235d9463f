"""The schema comes from the migrations, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from onboarding.db import engine, upgrade

TABLES = {
    "account",
    "onboarding",
    "timelineevent",
    "humantask",
    "staff",
    "outboxemail",
    "suppression",
    "webhookevent",
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
