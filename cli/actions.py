"""What a CSM does to an onboarding from a terminal: one command per action of the workflow.

Each action is a workflow update named and modelled by the catalogue (onboarding/messages.py):
the workflow checks it before anything happens, so a wrong module id or an action in the
wrong phase is refused with the reason and leaves no trace. Every action names who did it
(`--by`, default $CSM_ID, else $USER) and carries an id, so running a command again after
it got no answer applies it at most once (cli/calls.py, cli/journal.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from adapters import assignment
from adapters.config import Settings
from adapters.db import engine
from adapters.staff import RosterError
from cli import calls
from cli.common import fail, one_of, run
from cli.summary import one_line
from onboarding.messages import BY_NAME, EVENT_NAMES, Action, HumanTouchKind, ProductEvent
from onboarding.models import CustomerRole, account_of, problems

app = typer.Typer()
ACT = "Act on an onboarding"
M = TypeVar("M", bound=Action | ProductEvent)
TOUCHES: tuple[str, ...] = HumanTouchKind.__args__  # type: ignore[attr-defined]

Account = Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account id (or workflow id onboarding-<account_id>).")]
By = Annotated[
    str,
    typer.Option(
        envvar=["CSM_ID", "USER"], show_envvar=False, help="Who acts (staff id); default $CSM_ID, else $USER."
    ),
]
Note = Annotated[str, typer.Option(help="A note for the timeline.")]


def message(model: type[M], **fields: Any) -> M:
    """Build the message the workflow receives; bad input is refused here, naming the field."""
    try:
        return model(**fields)
    except ValidationError as e:
        fail("\n".join(problems(e)), code=2)


def act(account: str, name: str, done: str, /, **fields: Any) -> None:
    """Send the catalogue's action `name` (onboarding/messages.py), built from the command's fields."""
    model = BY_NAME[name].model
    if not issubclass(model, Action):
        raise TypeError(f"{name} is not a CSM action in the catalogue")
    action = message(model, **fields)
    try:
        status = run(calls.update(account, action))
    except KeyboardInterrupt:
        fail(calls.unanswered(account_of(account), name, "interrupted before an answer"), code=calls.UNANSWERED)
    typer.echo(f"{account_of(account)}: {done}; {one_line(status)}")


@app.command("kickoff-done", rich_help_panel=ACT)
def kickoff_done(account: Account, by: By, notes: Note = "") -> None:
    """The kickoff meeting happened: the summary goes out and the check-in sequence starts.

    Example: python admin.py kickoff-done northwind --notes "Goals agreed; data export by Friday"
    """
    act(account, "kickoff_done", "kickoff recorded as done", by=by, notes=notes)


@app.command("module-done", rich_help_panel=ACT)
def module_done(
    account: Account, module: Annotated[str, typer.Argument(metavar="MODULE", help="The training module's id.")], by: By
) -> None:
    """A training module is completed: congratulations with the next module, progress updated.

    Example: python admin.py module-done brightpath-dental quick_start
    """
    act(account, "module_completed", f"module {module} completed", by=by, module=module)


@app.command("step-done", rich_help_panel=ACT)
def step_done(
    account: Account, step: Annotated[str, typer.Argument(metavar="STEP", help="The step's id.")], by: By
) -> None:
    """A step is done outside the product (a call, a document signed): mark it so.

    Example: python admin.py step-done northwind connect_sso
    """
    act(account, "complete_step", f"step {step} done", by=by, step=step)


@app.command("criteria-met", rich_help_panel=ACT)
def criteria_met(
    account: Account,
    evidence: Annotated[str, typer.Option(help="What shows the success criteria are met.")],
    by: By,
) -> None:
    """The customer reached the success criteria: celebrate, hand over, mark the onboarding complete.

    Example: python admin.py criteria-met brightpath-dental --evidence "Booking page live, 34 online bookings"
    """
    act(account, "success_criteria_met", "success criteria met", by=by, evidence=evidence)


@app.command(rich_help_panel=ACT)
def skip(account: Account, step: Annotated[str, typer.Argument(metavar="STEP", help="The step's id.")], by: By) -> None:
    """Skip a skippable step for now (the escape hatch); it can still be done later.

    Example: python admin.py skip brightpath-dental invite_team
    """
    act(account, "skip_step", f"step {step} skipped", by=by, step=step)


@app.command(rich_help_panel=ACT)
def invite(
    account: Account,
    step: Annotated[str, typer.Argument(metavar="STEP", help="The step the colleague can unlock.")],
    name: Annotated[str, typer.Option(help="The colleague's name.")],
    email: Annotated[str, typer.Option(help="The colleague's email address.")],
    by: By,
    role: Annotated[CustomerRole, typer.Option(help="The colleague's role.")] = "end_user",
) -> None:
    """Invite the colleague who can do a step, with the context of why it needs them.

    Example: python admin.py invite brightpath-dental connect_integration --role it_admin
    --name "Sam Lee" --email sam@brightpath.example
    """
    done = f"invitation for step {step} sent to the {role}"
    act(account, "invite", done, by=by, step=step, name=name, email=email, role=role)


def moment(value: str) -> datetime:
    """'2026-04-01' means midnight UTC that day; a time must say its zone ('2026-04-01T09:00+02:00')."""
    expected = "expected a date like 2026-04-01 (midnight UTC) or a time with its zone like 2026-04-01T09:00+02:00"
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--until: {expected}, got {value!r}", code=2)
    if at.tzinfo is None:
        fail(f"--until: {expected}; {value!r} has no zone (add Z for UTC)", code=2)
    return at


@app.command(rich_help_panel=ACT)
def pause(
    account: Account,
    reason: Annotated[str, typer.Option(help="Why the customer pauses (shown to the team).")],
    by: By,
    until: Annotated[
        str | None, typer.Option(help="Resume by itself then: a date (UTC) or a timestamp with a zone.")
    ] = None,
) -> None:
    """Pause: nudges and escalations wait, deadlines move by the paused time.

    Example: python admin.py pause northwind --reason "Fiscal year-end freeze" --until 2026-04-01
    """
    act(account, "pause", "paused", by=by, reason=reason, until=moment(until) if until else None)


@app.command(rich_help_panel=ACT)
def resume(account: Account, by: By) -> None:
    """Resume a paused onboarding where it stopped.

    Example: python admin.py resume northwind
    """
    act(account, "resume", "resumed", by=by)


@app.command(rich_help_panel=ACT)
def reassign(
    account: Account, owner: Annotated[str, typer.Argument(metavar="OWNER", help="The new CSM's staff id.")], by: By
) -> None:
    """Hand the onboarding to another CSM (an active CSM in the staff roster).

    Example: python admin.py reassign brightpath-dental csm-siti
    """
    csm_in_roster(account, owner)
    act(account, "reassign", f"now owned by {owner}", by=by, owner=owner)


def csm_in_roster(account: str, owner: str) -> None:
    """Refuse an owner the roster does not have here, before the onboarding hears of it (no trace in its history)."""
    settings = Settings.from_env()
    try:
        found = assignment.find_csm(engine(settings.database_url), owner, settings.staff_file)
    except RosterError as e:
        fail(f"{account_of(account)}: refused: {e}")
    except SQLAlchemyError as e:
        fail(f"cannot read the staff roster (DATABASE_URL): {type(e).__name__}; is the database reachable?")
    if found is None:
        fail(f"{account_of(account)}: refused: owner: no active CSM with id {owner!r} in the staff roster")


@app.command(rich_help_panel=ACT)
def contact(
    account: Account,
    role: Annotated[CustomerRole, typer.Argument(metavar="ROLE", help="The contact's role (champion, billing, ...).")],
    email: Annotated[str, typer.Option(help="The contact's correct email address.")],
    by: By,
    name: Annotated[str | None, typer.Option(help="The contact's name, if it changes too.")] = None,
) -> None:
    """Correct a customer contact's address (a bounced or mistyped email): later touches go to it.

    Example: python admin.py contact brightpath-dental champion --email priya.shah@brightpath.example
    """
    act(account, "correct_contact", f"{role}'s address corrected", by=by, role=role, email=email, name=name)


@app.command(rich_help_panel=ACT)
def cancel(
    account: Account,
    reason: Annotated[str, typer.Argument(metavar="REASON", help="churned, lost, duplicate, contract_void or other.")],
    by: By,
    note: Note = "",
) -> None:
    """Cancel the onboarding for good (churned, lost, duplicate, contract_void, other).

    Example: python admin.py cancel acme-trial duplicate --note "Signed twice in the CRM"
    """
    act(account, "cancel", f"cancelled ({reason})", by=by, reason=reason, note=note)


@app.command(rich_help_panel=ACT)
def touch(
    account: Account,
    kind: Annotated[
        str,
        typer.Argument(
            metavar="KIND", help=f"What was done: {', '.join(TOUCHES)}.", callback=one_of("kind of touch", TOUCHES)
        ),
    ],
    by: By,
    note: Note = "",
) -> None:
    """Record a touch a person did outside the engine (a call, a personal email), so the rules see it.

    Example: python admin.py touch brightpath-dental personal_welcome --note "Called Priya"
    """
    act(account, "log_touch", f"{kind} recorded", by=by, touch=kind, note=note)


@app.command(rich_help_panel=ACT)
def resolve(
    account: Account,
    escalation: Annotated[
        str, typer.Argument(metavar="ESCALATION", help="The escalation's id (see: python admin.py escalations).")
    ],
    by: By,
    note: Note = "",
) -> None:
    """Close an escalation: say what was done about it.

    Example: python admin.py resolve brightpath-dental personal_welcome_overdue.1 --note "Welcomed by phone"
    """
    act(account, "resolve_escalation", f"escalation {escalation} resolved", by=by, escalation=escalation, note=note)


@app.command(rich_help_panel=ACT)
def event(
    account: Account,
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            help=f"What the customer did: {', '.join(EVENT_NAMES)}.",
            callback=one_of("product event", EVENT_NAMES),
        ),
    ],
    action: Annotated[str | None, typer.Option(help="key_action: the action's name.")] = None,
    csat: Annotated[int | None, typer.Option(help="survey_answer: satisfaction, 1-5.")] = None,
    ces: Annotated[int | None, typer.Option(help="survey_answer: effort it took, 1 (easy) to 7 (very hard).")] = None,
    nps: Annotated[int | None, typer.Option(help="survey_answer: would recommend us, 0-10.")] = None,
    metric: Annotated[str | None, typer.Option(help="metric: the metric's name, e.g. qualified_leads.")] = None,
    value: Annotated[float | None, typer.Option(help="metric: its value now.")] = None,
    user: Annotated[str | None, typer.Option(help="metric: the product's user id, for per-user metrics.")] = None,
    goal_reached: Annotated[
        bool | None, typer.Option("--goal-reached/--goal-not-reached", help="survey_answer: goal reached?")
    ] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="Delivery id: a repeat is applied once.")] = None,
) -> None:
    """Report a product event by hand, as the product's telemetry would (a signal).

    Examples: python admin.py event brightpath-dental first_login  ·
    python admin.py event brightpath-dental survey_answer --goal-reached --csat 5  ·
    python admin.py event northwind metric --metric qualified_leads --value 12
    """
    fields: dict[str, object] = {"name": name, "action": action, "csat": csat, "ces": ces, "nps": nps}
    fields |= {"goal_reached": goal_reached}
    fields |= {"metric": metric, "value": value, "user": user, "id": event_id}
    product_event = message(ProductEvent, **fields)
    run(calls.signal(account, product_event))
    typer.echo(f"{account_of(account)}: {name} sent; `python admin.py status {account_of(account)}` shows its effect.")
