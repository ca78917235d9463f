"""What a CSM does to an onboarding from a terminal: one command per action of the workflow.

Each action is a workflow update: the workflow checks it (its validator) before anything
happens, so a wrong module id or an action in the wrong phase is refused with the reason
and leaves no trace. Every action names who did it (`--by`, default $CSM_ID, else $USER).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from cli import calls
from cli.common import fail, run
from cli.summary import one_line
from onboarding.models import (
    Action,
    Cancel,
    CustomerRole,
    EventName,
    HumanTouch,
    HumanTouchKind,
    Invite,
    KickoffDone,
    ModuleCompleted,
    Pause,
    ProductEvent,
    Reassign,
    ResolveEscalation,
    Resume,
    StepAction,
    SuccessCriteriaMet,
    account_of,
    problems,
)
from workflows.onboarding import OnboardingWorkflow as W

app = typer.Typer()
ACT = "Act on an onboarding"
M = TypeVar("M", Action, ProductEvent)

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


def act(account: str, update: Any, action: Action, done: str) -> None:
    status = run(calls.update(account, update, action))
    typer.echo(f"{account_of(account)}: {done}; {one_line(status)}")


@app.command("kickoff-done", rich_help_panel=ACT)
def kickoff_done(account: Account, by: By, notes: Note = "") -> None:
    """The kickoff meeting happened: the summary goes out and the check-in sequence starts.

    Example: python admin.py kickoff-done northwind --notes "Goals agreed; data export by Friday"
    """
    act(account, W.kickoff_done, message(KickoffDone, by=by, notes=notes), "kickoff recorded as done")


@app.command("module-done", rich_help_panel=ACT)
def module_done(
    account: Account, module: Annotated[str, typer.Argument(metavar="MODULE", help="The training module's id.")], by: By
) -> None:
    """A training module is completed: congratulations with the next module, progress updated.

    Example: python admin.py module-done brightpath-dental quick_start
    """
    act(account, W.module_completed, message(ModuleCompleted, by=by, module=module), f"module {module} completed")


@app.command("step-done", rich_help_panel=ACT)
def step_done(
    account: Account, step: Annotated[str, typer.Argument(metavar="STEP", help="The step's id.")], by: By
) -> None:
    """A step is done outside the product (a call, a document signed): mark it so.

    Example: python admin.py step-done northwind connect_sso
    """
    act(account, W.complete_step, message(StepAction, by=by, step=step), f"step {step} done")


@app.command("criteria-met", rich_help_panel=ACT)
def criteria_met(
    account: Account,
    evidence: Annotated[str, typer.Option(help="What shows the success criteria are met.")],
    by: By,
) -> None:
    """The customer reached the success criteria: celebrate, hand over, mark the onboarding complete.

    Example: python admin.py criteria-met brightpath-dental --evidence "Booking page live, 34 online bookings"
    """
    act(account, W.success_criteria_met, message(SuccessCriteriaMet, by=by, evidence=evidence), "success criteria met")


@app.command(rich_help_panel=ACT)
def skip(account: Account, step: Annotated[str, typer.Argument(metavar="STEP", help="The step's id.")], by: By) -> None:
    """Skip a skippable step for now (the escape hatch); it can still be done later.

    Example: python admin.py skip brightpath-dental invite_team
    """
    act(account, W.skip_step, message(StepAction, by=by, step=step), f"step {step} skipped")


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
    action = message(Invite, by=by, step=step, name=name, email=email, role=role)
    act(account, W.invite, action, f"invitation for step {step} sent to the {role}")


def moment(value: str) -> datetime | str:
    """'2026-04-01' means midnight UTC that day; anything else is left to the model to check."""
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        return value


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
    action = message(Pause, by=by, reason=reason, until=moment(until) if until else None)
    act(account, W.pause, action, "paused")


@app.command(rich_help_panel=ACT)
def resume(account: Account, by: By) -> None:
    """Resume a paused onboarding where it stopped.

    Example: python admin.py resume northwind
    """
    act(account, W.resume, message(Resume, by=by), "resumed")


@app.command(rich_help_panel=ACT)
def reassign(
    account: Account, owner: Annotated[str, typer.Argument(metavar="OWNER", help="The new CSM's staff id.")], by: By
) -> None:
    """Hand the onboarding to another CSM.

    Example: python admin.py reassign brightpath-dental csm-siti
    """
    act(account, W.reassign, message(Reassign, by=by, owner=owner), f"now owned by {owner}")


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
    act(account, W.cancel, message(Cancel, by=by, reason=reason, note=note), f"cancelled ({reason})")


@app.command(rich_help_panel=ACT)
def touch(
    account: Account,
    kind: Annotated[HumanTouchKind, typer.Argument(metavar="KIND", help="What was done.")],
    by: By,
    note: Note = "",
) -> None:
    """Record a touch a person did outside the engine (a call, a personal email), so the rules see it.

    Example: python admin.py touch brightpath-dental personal_welcome --note "Called Priya"
    """
    act(account, W.log_touch, message(HumanTouch, by=by, touch=kind, note=note), f"{kind} recorded")


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
    action = message(ResolveEscalation, by=by, escalation=escalation, note=note)
    act(account, W.resolve_escalation, action, f"escalation {escalation} resolved")


@app.command(rich_help_panel=ACT)
def event(
    account: Account,
    name: Annotated[EventName, typer.Argument(metavar="NAME", help="What the customer did.")],
    action: Annotated[str | None, typer.Option(help="key_action: the action's name.")] = None,
    csat: Annotated[int | None, typer.Option(help="survey_answer: satisfaction, 1-5.")] = None,
    ces: Annotated[int | None, typer.Option(help="survey_answer: effort score, 1-7.")] = None,
    goal_reached: Annotated[
        bool | None, typer.Option("--goal-reached/--goal-not-reached", help="survey_answer: goal reached?")
    ] = None,
    event_id: Annotated[str | None, typer.Option("--id", help="Delivery id: a repeat is applied once.")] = None,
) -> None:
    """Report a product event by hand, as the product's telemetry would (a signal).

    Examples: python admin.py event brightpath-dental first_login  ·
    python admin.py event brightpath-dental survey_answer --goal-reached --csat 5
    """
    fields = {"name": name, "action": action, "csat": csat, "ces": ces, "goal_reached": goal_reached, "id": event_id}
    product_event = message(ProductEvent, **fields)
    run(calls.signal(account, product_event))
    typer.echo(f"{account_of(account)}: {name} sent; `python admin.py status {account_of(account)}` shows its effect.")
