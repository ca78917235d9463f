"""Every template in every locale renders into an email a person can read, from a realistic context."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from html.parser import HTMLParser

import jinja2
import pytest
from temporalio.testing import WorkflowEnvironment

from adapters.config import Settings
from adapters.email import compose, samples
from adapters.email.render import LOCALES, TRANSACTIONAL, Rendered, available, render, written_in
from onboarding.effects import EmailRequest
from onboarding.messages import Invite, KickoffDone, ModuleCompleted
from tests.conftest import Run

Onboard = Callable[..., Awaitable[Run]]  # the `onboard` fixture in conftest.py

TEMPLATES = sorted(available())
MAX_BYTES = 100 * 1024


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "action")]


def sample(template: str, locale: str, **context: object) -> Rendered:
    request = samples.request(template, locale, context)
    return render(template, locale, compose.context(request, Settings.from_env()))


def test_the_thirty_one_touches_exist() -> None:
    assert len(TEMPLATES) == 31
    assert {"welcome", "colleague_invitation", "escalation", "handover_to_ongoing_csm", "check_in"} <= set(TEMPLATES)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_locale(template: str, locale: str) -> None:
    mail = sample(template, locale)

    assert written_in(template, locale) == locale  # translated, not a fallback
    for part in (mail.subject, mail.text, mail.html):
        assert part.strip() and "{{" not in part and "{%" not in part and "}}" not in part
    assert "\n" not in mail.subject and len(mail.subject) < 120
    assert len(mail.html.encode()) < MAX_BYTES and len(mail.text.encode()) < MAX_BYTES
    assert "BrightPath Dental" in mail.subject + mail.text
    links = Links()
    links.feed(mail.html)
    assert links.urls and all(u.startswith(("https://", "http://", "mailto:")) for u in links.urls)
    assert "style" not in links.tags and "link" not in links.tags  # the stylesheet is inlined
    assert f'<html lang="{locale}">' in mail.html
    assert all(re.match(r"https?://", u) for u in re.findall(r"(?:https?:)?//\S+", mail.text))
    unsubscribe = "/email/unsubscribe?m=" in mail.text
    assert unsubscribe == (template not in TRANSACTIONAL)
    assert unsubscribe == ("/email/unsubscribe?m=" in mail.html)


def test_text_part_is_written_for_people() -> None:
    mail = sample("welcome", "en")
    assert "<" not in mail.text and "&amp;" not in mail.text
    assert mail.text.startswith("Hi Priya Nair,\n\nWelcome aboard!")
    assert "[ ] Invite your team\n[ ] Connect your first integration" in mail.text
    assert "Open your checklist: https://app.vendor.example/onboarding" in mail.text


@pytest.mark.parametrize(
    ("locale", "due", "days"),
    [
        ("en", "April 1, 2026", "No activity:   7 days"),
        ("ru", "к 1 апреля 2026. Ваш список", "7 дней"),
        ("ms", "1 April 2026", "7 hari"),
    ],
)
def test_dates_and_plurals_follow_the_locale(locale: str, due: str, days: str) -> None:
    assert due in sample("welcome", locale).text
    assert days in sample("escalation", locale).text


def test_russian_plural_forms() -> None:
    assert "1 день" in sample("escalation", "ru", days_stalled=1).text
    assert "3 дня" in sample("escalation", "ru", days_stalled=3).text
    assert "11 дней" in sample("escalation", "ru", days_stalled=11).text


def test_html_escapes_what_customers_typed() -> None:
    mail = sample("kickoff_summary", "en", company="Smith & <Sons>", kickoff_notes="<script>x</script>")
    assert "Smith &amp; &lt;Sons&gt;" in mail.html and "<script>" not in mail.html
    assert "Smith & <Sons>" in mail.subject and "<script>x</script>" in mail.text


def test_a_missing_variable_is_an_error_not_a_blank() -> None:
    request = samples.request("module_completed")
    context = compose.context(request, Settings.from_env())
    del context["module_title"]
    with pytest.raises(jinja2.UndefinedError, match="module_title"):
        render("module_completed", "en", context)


def test_a_locale_without_the_template_falls_back_to_english() -> None:
    mail = sample("welcome", "de")
    assert written_in("welcome", "de") == "en"
    assert mail.subject.startswith("Welcome aboard") and '<html lang="en">' in mail.html
    assert "April 1, 2026" in mail.text  # dates follow the language the email is written in


def test_staff_mail_links_to_the_run_and_customers_reply_to_their_csm() -> None:
    escalation = sample("escalation", "en")
    assert "http://localhost:8233/namespaces/default/workflows/onboarding-brightpath-dental" in escalation.html
    request = samples.request("welcome")
    envelope = compose.outgoing(request, Settings.from_env(), sample("welcome", "en"))
    assert envelope.reply_to == compose.Address("Leo Martin", "leo@vendor.example")
    assert compose.outgoing(samples.request("escalation"), Settings.from_env(), escalation).reply_to is None


async def test_the_workflow_sends_everything_the_samples_have(env: WorkflowEnvironment, onboard: Onboard) -> None:
    """Templates render from the samples above, so a real onboarding must send at least those keys."""
    run = await onboard("mid_market")
    await run.act(KickoffDone(notes="Go-live in May"))
    await run.act(ModuleCompleted(module="admin_training"))
    step = Invite(step="sso", name="Sam Okafor", email="sam@acme.example", role="it_admin")
    await run.act(step)
    await env.sleep(timedelta(days=8))

    sent: dict[str, set[str]] = {}
    async for event in run.handle.fetch_history_events():
        attrs = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and attrs.activity_type.name == "send_email":
            [request] = await env.client.data_converter.decode(attrs.input.payloads, [EmailRequest])
            sent[request.template] = set(request.context)
    assert {"welcome", "kickoff_summary", "module_completed", "colleague_invitation", "escalation"} <= set(sent)
    for template, keys in sent.items():
        assert set(samples.request(template).context) <= keys, template
