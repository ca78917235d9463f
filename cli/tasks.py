"""Work for the vendor's people: `tasks` lists it, `claim` takes it on; and what a CSM records
for the customer's plan (`kickoff-at`, `approve-invite`, `stuck`, `hand`).

Staff tasks (prepare the business review, run the live week's daily call, approve a pause)
and escalations (a problem someone must look at) are one list: each has an owner and a due
time. A task turns the onboarding's health red only once it is overdue; an escalation at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from adapters.db import HumanTask
from cli.actions import ACT, Account, By, act
from cli.summary import span, table, utc
from cli.views import LOOK, open_tasks, rows_of

app = typer.Typer()
Escalation = Annotated[
    str, typer.Argument(metavar="ESCALATION", help="The task's or escalation's id (see: python admin.py tasks).")
]


@app.command(rich_help_panel=LOOK)
def tasks(
    assignee: Annotated[str | None, typer.Option(help="Only this person's (staff id).")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only 'task' or only 'escalation'.")] = None,
) -> None:
    """Open staff tasks and escalations, soonest due first: what to do, for which account, by when.

    Take one on with: python admin.py claim ACCOUNT ID  ·  close it with: python admin.py resolve ACCOUNT ID

    Examples: python admin.py tasks  ·  python admin.py tasks --assignee csm-amara --kind task
    """
    if kind not in (None, "task", "escalation"):
        raise typer.BadParameter(f"expected 'task' or 'escalation', got {kind!r}", param_hint="--kind")
    statement = open_tasks(assignee, account)
    if kind:
        statement = statement.where(HumanTask.kind == kind)
    found = rows_of(statement)
    if not found:
        typer.echo("nothing open" + (f" for {assignee}" if assignee else ""))
        return
    now = datetime.now(UTC)
    found.sort(key=lambda t: (utc(t.due_at) if t.due_at else utc(t.opened_at), t.id or 0))
    rows = [
        [
            t.kind,
            due(t, now),
            t.account_id,
            t.key.split("/", 1)[1],
            t.assignee,
            t.reason,
        ]
        for t in found
    ]
    typer.echo(table(["KIND", "DUE", "ACCOUNT", "ID", "ASSIGNEE", "WHAT"], rows))


def due(task: HumanTask, now: datetime) -> str:
    """'in 5 h', 'overdue by 2 d' or, without a due time, how long it has been open."""
    if task.due_at is None:
        return f"open {span(now - utc(task.opened_at))}"
    left = utc(task.due_at) - now
    return f"in {span(left)}" if left.total_seconds() >= 0 else f"overdue by {span(-left)}"


@app.command(rich_help_panel=ACT)
def claim(account: Account, escalation: Escalation, by: By) -> None:
    """Take a task or an escalation on: it is yours, and it no longer goes up to the CS manager.

    Example: python admin.py claim globex-manufacturing red_flag.support_load.11 --by is-hana
    """
    act(account, "claim_escalation", f"{escalation} claimed by {by}", by=by, escalation=escalation)


@app.command("kickoff-at", rich_help_panel=ACT)
def kickoff_at(
    account: Account,
    at: Annotated[datetime, typer.Argument(metavar="WHEN", help="When, e.g. 2026-03-04T15:00+01:00 (UTC if no zone).")],
    by: By,
    minutes: Annotated[int, typer.Option(help="How long the meeting is.")] = 60,
) -> None:
    """The kickoff's time is agreed (or moved): the champion gets a calendar invitation (an update if moved).

    Example: python admin.py kickoff-at northwind 2026-03-04T15:00+01:00 --minutes 45
    """
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    act(account, "schedule_kickoff", f"kickoff set for {when:%Y-%m-%d %H:%M %Z}", by=by, at=when, minutes=minutes)


@app.command("approve-invite", rich_help_panel=ACT)
def approve_invite(
    account: Account,
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The invited colleague's address.")],
    by: By,
) -> None:
    """Let a customer's invitation to an address outside their company's domain go out.

    Example: python admin.py approve-invite northwind contractor@agency.example
    """
    act(account, "approve_invite", "invitation approved and sent", by=by, email=email)


Step = Annotated[str, typer.Argument(metavar="STEP", help="The step's id (see the playbook).")]


@app.command(rich_help_panel=ACT)
def stuck(
    account: Account,
    step: Step,
    by: By,
    reason: Annotated[str, typer.Option(help="What blocks the customer, in their words.")],
) -> None:
    """The customer is stuck on a step (they called, or wrote): the CSM is escalated at once with the reason.

    Example: python admin.py stuck northwind sso --reason "Their IdP is not in our list"
    """
    act(account, "mark_stuck", f"{step} marked stuck", by=by, step=step, reason=reason)


@app.command(rich_help_panel=ACT)
def hand(
    account: Account,
    step: Step,
    to: Annotated[str, typer.Argument(metavar="EMAIL", help="Someone already on the plan.")],
    by: By,
) -> None:
    """Hand a step to another person on the customer's plan.

    Example: python admin.py hand northwind sso raj@northwind.example
    """
    act(account, "hand_step", f"{step} handed over", by=by, step=step, to=to)
