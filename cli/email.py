"""`preview` and `outbox`: see an email before customers do, and what the engine has sent.

python admin.py preview welcome --locale ru                 a realistic sample onboarding
python admin.py preview escalation --account brightpath-dental   that onboarding, as it is now
python admin.py outbox --account brightpath-dental --status failed
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import jinja2
import typer
from sqlmodel import Session, col, select

from adapters.config import LOCAL, Settings
from adapters.db import OutboxEmail, Staff, engine
from adapters.email import compose, samples
from adapters.email.render import INTERNAL, LOCALES, available, render, written_in
from cli import calls
from cli.common import client, fail, handle, run, suggest
from cli.views import table, utc
from onboarding.effects import EmailRequest, Recipient
from onboarding.journey import OnboardingInput
from onboarding.models import Status, account_of, workflow_id

app = typer.Typer()
EMAIL = "Email"
PREVIEWS = LOCAL / "previews"


@app.command(rich_help_panel=EMAIL)
def preview(
    template: Annotated[str, typer.Argument(metavar="TEMPLATE", help="Template name, e.g. welcome.")],
    locale: Annotated[
        str | None, typer.Option(help=f"One of {', '.join(LOCALES)}; default: the account's, else en.")
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Personalise from this onboarding's current state (needs Temporal).")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the HTML; default .local/previews/.")] = None,
) -> None:
    """Render an email to an HTML file and print its path (the subject and text part go to stderr).

    Example: python admin.py preview welcome --locale ru
    """
    names = sorted(available())
    if template not in names:
        fail(f"unknown template {template!r}{suggest(template, names) or '; templates: ' + ', '.join(names)}")
    if locale is not None and locale not in LOCALES:
        fail(f"--locale: expected one of {', '.join(LOCALES)}, got {locale!r}")
    request = run(_from_account(template, locale, account)) if account else samples.request(template, locale or "en")
    settings = Settings.from_env()
    try:
        mail = render(template, request.locale, compose.context(request, settings))
    except jinja2.TemplateError as e:
        fail(f"{template} ({request.locale}) does not render: {e}")
    lang = written_in(template, request.locale)
    path = out or PREVIEWS / f"{account_of(account) if account else 'sample'}.{template}.{lang}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(mail.html, encoding="utf-8")
    typer.echo(f"Subject: {mail.subject}\n\n{mail.text}", err=True)
    typer.echo(path)


async def _from_account(template: str, locale: str | None, account: str) -> EmailRequest:
    """A request as the workflow would send it now: the contract and playbook from the run's
    input, progress from its status query, the CSM from the staff table."""
    status, _details = await calls.status(account)
    c = await client()
    history = await handle(c, account).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    [given] = await c.data_converter.decode(started.input.payloads, [OnboardingInput])
    with Session(engine(Settings.from_env().database_url)) as db:
        csm = db.get(Staff, status.owner)
    context = _context(given, status, csm)
    contract = given.contract
    if template == "sales_handover_reminder":
        to = Recipient(role="sales_rep", name=contract.sales_rep.name, email=contract.sales_rep.email)
    elif template in INTERNAL and csm:
        to = Recipient(role="csm", name=csm.name, email=csm.email)
    elif template == "colleague_invitation" or template in INTERNAL:
        to = samples.request(template).to
    else:
        champion = contract.contact("champion")
        to = Recipient(role="champion", name=champion.name, email=champion.email)
    sample = samples.request(template, locale or contract.locale, context)
    return sample.model_copy(
        update={"account_id": contract.account_id, "workflow_id": workflow_id(contract.account_id), "to": to}
    )


def _context(given: OnboardingInput, status: Status, csm: Staff | None) -> dict[str, Any]:
    """The keys workflows/onboarding.py `context()` sends, rebuilt from what is visible outside it."""
    playbook, contract = given.playbook, given.contract
    titles = {s.id: s.title for p in playbook.phases for s in p.steps}
    phases = [p.id for p in playbook.phases]
    return {
        "company": contract.company,
        "segment": playbook.segment,
        "phase": status.phase_title,
        "phase_number": phases.index(status.phase) + 1 if status.phase in phases else len(phases),
        "phase_count": len(phases),
        "steps_done": len(status.steps_done),
        "steps_total": len(status.steps_done) + len(status.steps_pending) + len(status.steps_skipped),
        "steps_pending": [titles[s] for s in status.steps_pending],
        "modules_done": len(status.modules_done),
        "modules_total": len(playbook.modules),
        "next_module": next((m.title for m in playbook.modules if m.id not in status.modules_done), None),
        "success_criteria": list(contract.success_criteria),
        "signed_at": status.signed_at.isoformat(),
        "due_at": status.due_at.isoformat(),
        "csm_name": csm.name if csm else "",
        "csm_email": csm.email if csm else "",
        "champion_name": contract.contact("champion").name,
    }


@app.command(rich_help_panel=EMAIL)
def outbox(
    account: Annotated[str | None, typer.Option(help="Only this account's emails.")] = None,
    status: Annotated[
        str | None, typer.Option(help="Only emails in this state: sent, failed, unconfirmed, suppressed, ...")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
) -> None:
    """List what the engine sent (or could not send), newest first; addresses are not shown.

    Example: python admin.py outbox --account brightpath-dental
    """
    query = select(OutboxEmail).order_by(col(OutboxEmail.created_at).desc(), col(OutboxEmail.id).desc())
    if account:
        query = query.where(OutboxEmail.account_id == account_of(account))
    if status:
        query = query.where(OutboxEmail.status == status)
    with Session(engine(Settings.from_env().database_url)) as db:
        rows = db.exec(query.limit(limit)).all()
    if not rows:
        typer.echo("no emails" + (f" for {account_of(account)}" if account else ""))
        return
    typer.echo(
        table(
            ["queued (UTC)", "account", "template", "to", "status", "subject", "message id / error"],
            [
                [
                    f"{utc(r.created_at):%Y-%m-%d %H:%M}",
                    r.account_id,
                    r.template,
                    r.to_role,
                    r.status,
                    _short(r.subject, 50),
                    _short(r.error if r.status != "sent" and r.error else r.provider_message_id or "", 60),
                ]
                for r in rows
            ],
        )
    )


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
