"""`python admin.py ...`: what CSMs and ops do. `python admin.py --help` lists every command."""

from __future__ import annotations

import typer

from cli import actions, database, playbooks, records, tasks, views
from cli import crm as crm_cli
from cli import email as email_cli
from cli import portal as portal_cli
from cli import simulate as simulate_cli
from cli.shutdown import exit_after

app = typer.Typer(
    help="Customer onboarding: act on onboardings, inspect them, and run the engine's tools.", no_args_is_help=True
)
app.add_typer(playbooks.app, name="playbook")
app.add_typer(database.app, name="db")
app.add_typer(records.staff_app, name="staff")
app.command()(records.report)
app.add_typer(actions.app)
app.add_typer(views.app)
app.add_typer(tasks.app)
app.add_typer(email_cli.app)
app.add_typer(simulate_cli.app)
app.add_typer(portal_cli.app, name="portal")
app.add_typer(crm_cli.app, name="crm")  # HubSpot and Salesforce notifications

if __name__ == "__main__":
    exit_after(app)
