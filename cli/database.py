"""`admin.py db upgrade`: create or upgrade the engine's database schema (alembic migrations)."""

from __future__ import annotations

import typer

from adapters.config import Settings
from adapters.db import upgrade as run_upgrade

app = typer.Typer(help="The engine's own database.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create the schema or bring it to the newest migration; safe to run again.

    Example: DATABASE_URL=postgresql+psycopg://app@db/onboarding python admin.py db upgrade
    """
    url = Settings.from_env().database_url
    run_upgrade(url)
    typer.echo(f"schema up to date ({url.split('://')[0]})")
