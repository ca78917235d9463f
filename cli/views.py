"""Looking at onboardings: `list`, `status`, `timeline` and `escalations`.

`list` asks Temporal's visibility store (the search attributes the workflow keeps up to
date); `status` asks the onboarding itself (a query); `timeline` and `escalations` read the
engine's database, where every touch, event, action and human task is recorded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from adapters.config import Settings
from adapters.db import HumanTask, TimelineEvent, engine
from cli import calls
from cli.common import client, fail, run, suggest
from cli.summary import describe_status, span, table, utc
from onboarding import playbook
from onboarding.effects import TimelineKind
from onboarding.models import SEGMENTS, Health, Segment, account_of
from workflows import attributes

app = typer.Typer()
LOOK = "Look"
KINDS: tuple[str, ...] = TimelineKind.__args__  # type: ignore[attr-defined]
KEYWORD = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


# ---- status -----------------------------------------------------------------------------------


@app.command(rich_help_panel=LOOK)
def status(
    account: Annotated[
        str, typer.Argument(metavar="ACCOUNT", help="Account id (or workflow id onboarding-<account_id>).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="The full status as JSON, for scripts.")] = False,
) -> None:
    """Where one onboarding stands: phase, progress, health, what happens next and when, open escalations.

    Example: python admin.py status brightpath-dental
    """
    state, details = run(calls.status(account))
    if as_json:
        typer.echo(state.model_dump_json(indent=2))
    else:
        typer.echo(describe_status(state, details, datetime.now(UTC)))


# ---- list ---------------------------------------------------------------------------------------


def keyword(option: str, value: str | None) -> str | None:
    """A value that goes into a visibility query: an id, never free text (no quotes, no operators)."""
    if value is not None and not KEYWORD.match(value):
        fail(f"{option}: expected an id like early_training or csm-leo (letters, digits, _ . -)", code=2)
    return value


def visibility_query(
    segment: str | None,
    phase: str | None,
    health: str | None,
    owner: str | None,
    escalated: bool | None,
    paused: bool | None,
    include_closed: bool,
) -> str:
    terms = ["WorkflowType = 'OnboardingWorkflow'"]
    if not include_closed:
        terms.append("ExecutionStatus = 'Running'")
    keywords = {
        attributes.SEGMENT: segment,
        attributes.PHASE: phase,
        attributes.HEALTH: health,
        attributes.OWNER: owner,
    }
    terms += [f"{key.name} = '{value}'" for key, value in keywords.items() if value]
    flags = {attributes.ESCALATED: escalated, attributes.PAUSED: paused}
    terms += [f"{key.name} = {str(flag).lower()}" for key, flag in flags.items() if flag is not None]
    return " AND ".join(terms)


async def find(query: str, limit: int) -> list[list[str]]:
    c = await client()
    rows = []
    async for wf in c.list_workflows(query, limit=limit):
        sa = wf.typed_search_attributes
        flags = [
            name for key, name in ((attributes.ESCALATED, "escalated"), (attributes.PAUSED, "paused")) if sa.get(key)
        ]
        if wf.status and wf.status.name != "RUNNING":
            flags.append(wf.status.name.lower())
        rows.append(
            [
                account_of(wf.id),
                sa.get(attributes.SEGMENT) or "-",
                sa.get(attributes.PHASE) or "-",
                sa.get(attributes.HEALTH) or "-",
                sa.get(attributes.OWNER) or "-",
                f"{wf.start_time:%Y-%m-%d}",
                ", ".join(flags),
            ]
        )
    return rows


@app.command("list", rich_help_panel=LOOK)
def list_(
    segment: Annotated[Segment | None, typer.Option(help="Only this segment.")] = None,
    phase: Annotated[str | None, typer.Option(help="Only onboardings in this phase (its id).")] = None,
    health: Annotated[Health | None, typer.Option(help="Only this health.")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this CSM's onboardings (staff id).")] = None,
    escalated: Annotated[
        bool | None, typer.Option("--escalated/--not-escalated", help="Only with (or without) open escalations.")
    ] = None,
    paused: Annotated[bool | None, typer.Option("--paused/--not-paused", help="Only paused (or running) ones.")] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="Include onboardings that have ended.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 200,
) -> None:
    """Onboardings that match every filter given, from Temporal's visibility store (newest first).

    Examples: python admin.py list --health red  ·  python admin.py list --owner csm-leo --escalated
    """
    query = visibility_query(
        segment, keyword("--phase", phase), health, keyword("--owner", owner), escalated, paused, include_closed
    )
    rows = run(find(query, limit))
    if not rows:
        given = {"segment": segment, "phase": phase, "health": health, "owner": owner}
        filters = [f"{name} {value}" for name, value in given.items() if value]
        filters += [
            f"{'' if flag else 'not '}{name}"
            for name, flag in (("escalated", escalated), ("paused", paused))
            if flag is not None
        ]
        scope = "" if include_closed else "running "
        typer.echo(f"no {scope}onboardings" + (f" with {', '.join(filters)}" if filters else ""))
        phases = {p.id for s in SEGMENTS for p in playbook.for_segment(s).phases}
        if phase and phase not in phases:
            known = sorted(phases)
            hint = suggest(phase, known) or "; phases: " + ", ".join(known)
            typer.echo(f"--phase: no playbook has a phase {phase!r}{hint}")
        return
    typer.echo(table(["ACCOUNT", "SEGMENT", "PHASE", "HEALTH", "OWNER", "STARTED", "FLAGS"], rows))
    typer.echo(f"{len(rows)} onboarding{'s' if len(rows) != 1 else ''}")


# ---- the database: timeline and escalations ----------------------------------------------------


def rows_of(statement: Any) -> list[Any]:
    url = Settings.from_env().database_url
    try:
        with Session(engine(url)) as db:
            return list(db.exec(statement).all())
    except (OperationalError, ProgrammingError) as e:
        fail(f"cannot read the engine's database ({url.split('://')[0]}): {e.orig}; try: python admin.py db upgrade")


def open_tasks(assignee: str | None, account: str | None) -> SelectOfScalar[HumanTask]:
    """The open human tasks (staff tasks and escalations), only an assignee's and an account's when given."""
    statement = select(HumanTask).where(HumanTask.status == "open")
    if assignee:
        statement = statement.where(HumanTask.assignee == assignee)
    if account:
        statement = statement.where(HumanTask.account_id == account_of(account))
    return statement


@app.command(rich_help_panel=LOOK)
def timeline(
    account: Annotated[
        str, typer.Argument(metavar="ACCOUNT", help="Account id (or workflow id onboarding-<account_id>).")
    ],
    kind: Annotated[
        list[str] | None, typer.Option(help="Only these kinds (email, action, event, phase, escalation, ...).")
    ] = None,
) -> None:
    """What happened to one onboarding, in order: emails, product events, CSM actions, phases, escalations.

    Examples: python admin.py timeline brightpath-dental  ·  python admin.py timeline brightpath-dental --kind email
    """
    unknown = [k for k in kind or [] if k not in KINDS]
    if unknown:
        hint = suggest(unknown[0], KINDS) or "; kinds: " + ", ".join(KINDS)
        fail(f"--kind: {unknown[0]!r} is not a kind of timeline entry{hint}", code=2)
    account_id = account_of(account)
    statement = select(TimelineEvent).where(TimelineEvent.account_id == account_id)
    if kind:
        statement = statement.where(TimelineEvent.kind.in_(kind))  # type: ignore[attr-defined]
    events = rows_of(statement.order_by(TimelineEvent.at, TimelineEvent.seq, TimelineEvent.id))  # type: ignore[arg-type]
    if not events:
        fail(f"nothing recorded for account {account_id!r}" + (f" of kind {', '.join(kind)}" if kind else ""))
    for e in events:
        to = f" → {e.to}" if e.to else ""
        by = f" by {e.actor}" if e.actor not in ("engine", "customer") else ""
        detail = f"  · {e.detail}" if e.detail else ""
        typer.echo(f"{utc(e.at):%Y-%m-%d %H:%M:%S}  {e.kind:<10}  {e.name}{to}{by}{detail}")


@app.command(rich_help_panel=LOOK)
def escalations(
    assignee: Annotated[str | None, typer.Option(help="Only this person's tasks (staff id).")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's.")] = None,
) -> None:
    """Open human tasks (escalations), oldest first: who must do what, for which account, since when.

    Resolve one with: python admin.py resolve ACCOUNT ESCALATION --note "what was done"

    Examples: python admin.py escalations  ·  python admin.py escalations --assignee mgr-elena
    """
    tasks = rows_of(open_tasks(assignee, account).order_by(HumanTask.opened_at, HumanTask.id))  # type: ignore[arg-type]
    if not tasks:
        typer.echo("no open escalations")
        return
    now = datetime.now(UTC)
    rows = [
        [
            f"{utc(t.opened_at):%Y-%m-%d %H:%M}",
            span(now - utc(t.opened_at)),
            t.account_id,
            t.key.split("/", 1)[1],
            t.assignee,
            t.reason,
        ]
        for t in tasks
    ]
    typer.echo(table(["OPENED (UTC)", "AGE", "ACCOUNT", "ESCALATION", "ASSIGNEE", "REASON"], rows))
