"""`admin.py portal ...`: the customer portal's personal links, from a CSM's terminal.

`revoke` turns off every link a person of an account was sent so far (a forwarded email, a
person who left); the next email they get carries a new link that works. `link` prints a
fresh personal link for a person on the plan, to paste into a personal email.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from adapters.config import Settings
from adapters.db import engine
from cli.common import client, fail, run
from onboarding.models import account_of
from portal import plan, store, tokens
from portal.config import PortalSettings

app = typer.Typer(help="The customer portal's personal links: revoke them, or make one.", no_args_is_help=True)
Account = Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account id (or workflow id onboarding-<account_id>).")]
Email = Annotated[str, typer.Argument(metavar="EMAIL", help="The person's address, as on the plan.")]


async def _on_plan(account_id: str, email: str) -> plan.PlanPerson:
    try:
        found = await plan.fetch(await client(), account_id)
    except plan.NoPlan:
        fail(f"no onboarding for account {account_id!r}")
    person = found.person(email)
    if person is None:
        fail(f"{account_id}: that address is not on the plan (a contract contact or an invited colleague)")
    return person


@app.command()
def revoke(
    account: Account,
    email: Email,
    by: Annotated[str, typer.Option(envvar=["CSM_ID", "USER"], show_envvar=False, help="Who revokes.")] = "csm",
) -> None:
    """Turn off every portal link this person was sent until now; later emails carry a working one.

    Example: python admin.py portal revoke brightpath-dental priya@brightpath.example
    """
    account_id = account_of(account)
    try:
        store.revoke(engine(Settings.from_env().database_url), account_id, email, by, datetime.now(UTC))
    except (OperationalError, ProgrammingError) as e:
        fail(f"cannot write the engine's database ({e.orig}); run `python admin.py db upgrade` first")
    typer.echo(f"{account_id}: portal links sent to that person until now are revoked")


@app.command()
def link(
    account: Account,
    email: Email,
    colleague: Annotated[
        bool, typer.Option("--colleague", help="An invited colleague: the link acts on their steps only.")
    ] = False,
) -> None:
    """Print a fresh personal link to the plan for a person on it (to paste into a personal email).

    Example: python admin.py portal link brightpath-dental priya@brightpath.example
    """
    account_id = account_of(account)
    run(_on_plan(account_id, email))
    try:
        settings = PortalSettings.from_env()
    except ValueError as e:
        fail(str(e), code=2)
    typer.echo(tokens.url(settings, tokens.issue(settings, account_id, email, "steps" if colleague else "plan")))
