"""The escalation email names the escalation to resolve, and previews show the README's own people."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.config import ROOT, Settings
from adapters.email import compose, samples
from adapters.email.render import LOCALES, render
from adapters.staff import load
from tests.conftest import Run

Onboard = Callable[..., Awaitable[Run]]  # the `onboard` fixture in conftest.py


async def test_the_escalation_email_tells_the_csm_the_real_escalation_id(
    env: WorkflowEnvironment, onboard: Onboard
) -> None:
    run = await onboard("smb")
    await env.sleep(timedelta(hours=49))  # no personal welcome within 48 hours: escalated
    await run.settled()
    [task] = [t for t in run.tasks() if "personal_welcome_overdue" in t.key]
    escalation_id = task.key.split("/", 1)[1]
    [email] = [e for e in run.outbox() if e.template == "escalation"]
    command = f'python admin.py resolve {run.contract.account_id} {escalation_id} --note "what you did"'
    assert command in email.text
    assert command.replace('"', "&#34;") in email.html or command in email.html
    assert "ESCALATION" not in email.text + email.html


@pytest.mark.parametrize("locale", LOCALES)
def test_the_escalation_preview_shows_an_id_in_every_locale(locale: str) -> None:
    request = samples.request("escalation", locale)
    mail = render("escalation", locale, compose.context(request, Settings.from_env()))
    assert "resolve brightpath-dental no_login_7d.1 --note" in mail.text
    assert "ESCALATION" not in mail.text + mail.html


def test_the_sample_people_are_the_roster_and_the_example_contract() -> None:
    roster = {p.id: p for p in load(ROOT / "staff.yaml").people}
    leo, elena = roster["csm-leo"], roster["mgr-elena"]
    welcome = samples.request("welcome")
    assert (welcome.context["csm_name"], welcome.context["csm_email"]) == (leo.name, leo.email)
    assert (welcome.to.name, welcome.to.email) == ("Priya Nair", "priya@brightpath.example")
    escalation = samples.request("escalation")
    assert (escalation.to.name, escalation.to.email) == (elena.name, elena.email)
    reminder = samples.request("sales_handover_reminder")
    assert (reminder.to.name, reminder.to.email) == ("Jordan Blake", "jordan@vendor.example")
