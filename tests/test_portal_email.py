"""Emails carry the recipient's personal link (and one-click step buttons), made when they are composed."""

from __future__ import annotations

import logging
import re

import pytest
from cryptography.fernet import Fernet

from adapters.config import Settings
from adapters.email import compose, samples
from adapters.email.render import render
from onboarding.effects import Recipient
from portal import tokens
from portal.config import PortalSettings
from portal.routes import RedactTokens

OPEN_STEPS = [
    {"id": "invite_team", "title": "Invite your team", "role": "champion", "confirmable": True, "skippable": True},
    {"id": "log_in", "title": "Log in", "role": "champion", "confirmable": False, "skippable": False},
    {"id": "sso", "title": "Single sign-on", "role": "it_admin", "confirmable": True, "skippable": False},
]


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> PortalSettings:
    monkeypatch.setenv("PORTAL_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("PORTAL_URL", "https://onboarding.vendor.example/portal")
    return PortalSettings.from_env()


def links(text: str) -> list[str]:
    return re.findall(r"https://onboarding\.vendor\.example/portal/p/\S+", text)


@pytest.mark.parametrize("locale", ["en", "ru", "ms"])
def test_the_welcome_carries_the_recipients_own_link(portal: PortalSettings, locale: str) -> None:
    request = samples.request("welcome", locale)
    mail = render("welcome", locale, compose.context(request, Settings.from_env()))
    (link,) = set(links(mail.text))
    assert link in mail.html
    holder = tokens.read(portal, link.rsplit("/", 1)[1])
    assert (holder.account_id, holder.email, holder.scope) == (samples.ACCOUNT, request.to.email, "plan")
    assert {"en": "Your onboarding plan", "ru": "Ваш план онбординга", "ms": "Pelan program orientasi anda"}[
        locale
    ] in mail.text


def test_internal_email_and_staff_get_no_link(portal: PortalSettings) -> None:
    for template in ("escalation", "handover_to_ongoing_csm"):
        context = compose.context(samples.request(template), Settings.from_env())
        assert context["portal_url"] is None and context["portal_steps"] == []


def test_an_invited_colleagues_link_is_scoped_to_their_steps(portal: PortalSettings) -> None:
    request = samples.request("colleague_invitation")
    assert request.to.role == "colleague"
    mail = render("colleague_invitation", "en", compose.context(request, Settings.from_env()))
    link = links(mail.text)[0]
    assert tokens.read(portal, link.rsplit("/", 1)[1]).scope == "steps"
    assert f'href="{link}"' in mail.html  # "Open the step" leads to the plan, not the app


def test_step_emails_carry_one_click_buttons_for_the_recipients_open_steps(portal: PortalSettings) -> None:
    request = samples.request("setup_day3", context={"open_steps": OPEN_STEPS})
    context = compose.context(request, Settings.from_env())
    steps = {s["title"]: sorted(s["links"]) for s in context["portal_steps"]}
    assert steps == {"Invite your team": ["done", "na", "stuck"], "Log in": ["stuck"]}  # the champion's steps
    base = context["portal_url"]
    assert context["portal_steps"][0]["links"]["done"] == f"{base}/confirm/done/invite_team"
    mail = render("setup_day3", "en", context)
    assert "Not applicable for us" in mail.html and f"{base}/confirm/na/invite_team" in mail.text
    it_admin = request.model_copy(update={"to": Recipient(role="it_admin", name="Sam", email="sam@brightpath.example")})
    assert [s["title"] for s in compose.context(it_admin, Settings.from_env())["portal_steps"]] == ["Single sign-on"]


def test_access_log_lines_show_no_link() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/portal/p/gAAAAABsecret==/act?lang=ru", "1.1", 200), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /portal/p/…/act?lang=ru HTTP/1.1" 200'
