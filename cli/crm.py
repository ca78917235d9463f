"""`crm`: what the CRMs delivered and what became of it (docs/integrations.md).

python admin.py crm inbox                       the latest notifications, newest first
python admin.py crm inbox --status refused      won deals that lacked contract fields
python admin.py crm retry hubspot:4711          process a failed or refused notification again
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlmodel import col, select

from adapters.crm.inbox import SETTLED
from adapters.integration_tables import CrmInbox
from cli.common import fail
from cli.records import database
from cli.summary import table, utc

app = typer.Typer(help="HubSpot and Salesforce notifications: what came in and what it started.")
STATUSES = ("pending", *SETTLED)


@app.command()
def inbox(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many rows.")] = 50,
) -> None:
    """List CRM notifications, newest first: when, which record, what became of it and why."""
    if status is not None and status not in STATUSES:
        fail(f"--status: expected one of {', '.join(STATUSES)}, got {status!r}")
    query = select(CrmInbox).order_by(col(CrmInbox.received_at).desc(), col(CrmInbox.id).desc()).limit(limit)
    if status is not None:
        query = query.where(CrmInbox.status == status)
    with database() as db:
        rows = db.exec(query).all()
    if not rows:
        typer.echo("no CRM notifications" + (f" with status {status}" if status else ""))
        return
    lines = [
        [f"{utc(r.received_at):%Y-%m-%d %H:%M}", r.event_id, r.record_id, r.status, str(r.attempts), r.outcome[:100]]
        for r in rows
    ]
    typer.echo(table(["received (UTC)", "event", "record", "status", "tries", "outcome"], lines))


@app.command()
def retry(event: Annotated[str, typer.Argument(help="The event id, as `crm inbox` shows it.")]) -> None:
    """Process a failed, refused or ignored notification again (the running intake picks it up within 30 s)."""
    with database() as db:
        row = db.exec(select(CrmInbox).where(CrmInbox.event_id == event)).first()
        if row is None:
            fail(f"no CRM notification {event!r}; `python admin.py crm inbox` lists them")
        if row.status in ("pending", "started", "already"):
            fail(f"{event} is {row.status}: nothing to retry")
        row.status, row.attempts, row.next_attempt_at, row.claimed_until = "pending", 0, datetime.now(UTC), None
        db.add(row)
        db.commit()
    typer.echo(f"{event}: queued again")
