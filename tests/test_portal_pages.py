"""The plan page as HTML, from a plan the workflow would answer: every locale, no script, labelled, phone-ready."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from cryptography.fernet import Fernet
from markupsafe import escape

from portal import guard, tokens
from portal.config import PortalSettings
from portal.i18n import LOCALES, texts
from portal.pages import render
from portal.plan import Plan, may_act_on, next_for

PLAN = Plan.model_validate(
    {
        "account_id": "brightpath-dental",
        "company": "BrightPath Dental",
        "locale": "ru",
        "state": "active",
        "phases": [
            {
                "id": "self_serve_setup",
                "title": "Self-serve setup",
                "titles": {"ru": "Самостоятельная настройка"},
                "state": "current",
                "steps": [
                    {"id": "log_in", "title": "Log in", "role": "champion", "state": "done", "confirmable": False},
                    {
                        "id": "invite_team",
                        "title": "Invite your team",
                        "titles": {"ru": "Пригласите команду"},
                        "role": "champion",
                        "state": "todo",
                        "due_at": "2026-03-09T09:00:00Z",
                        "skippable": True,
                    },
                    {
                        "id": "connect_integration",
                        "title": "Connect your first integration",
                        "role": "it_admin",
                        "owner": "sam@brightpath.example",
                        "state": "stuck",
                        "stuck_reason": "We need the admin password <script>",
                        "skippable": True,
                    },
                ],
            },
            {"id": "early_training", "title": "Early training", "state": "upcoming", "steps": []},
        ],
        "success_criteria": ["Online booking page live"],
        "csm": {"name": "Leo Martins", "email": "leo@vendor.example"},
        "people": [
            {"name": "Priya Nair", "email": "priya@brightpath.example", "role": "champion"},
            {
                "name": "Sam Lee",
                "email": "sam@brightpath.example",
                "role": "colleague",
                "steps": ["connect_integration"],
            },
        ],
        "due_at": "2026-04-01T09:00:00Z",
        "unknown_future_field": 1,
    }
)


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> PortalSettings:
    monkeypatch.setenv("PORTAL_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("PORTAL_BRAND_COLOUR", "#123456")
    return PortalSettings.from_env()


def page(
    portal: PortalSettings, locale: str, email: str = "priya@brightpath.example", scope: str = "plan", plan: Plan = PLAN
) -> str:
    holder = tokens.read(portal, tokens.issue(portal, PLAN.account_id, email, scope))  # type: ignore[arg-type]
    browser = guard.read_browser(portal, None)
    return render(
        "plan",
        portal,
        locale,
        plan=plan,
        me=plan.person(email),
        scoped=scope == "steps",
        mine=next_for(plan, holder),
        may=lambda step: may_act_on(plan, holder, step),
        seal=lambda: guard.new_form(portal, browser, holder).sealed,
        done=1,
        total=3,
        others=[p for p in PLAN.people if p.email != email],
        people_names={p.email: p.name for p in PLAN.people},
        base="/portal/p/TOKEN",
    )


class Audit(HTMLParser):
    """What an accessibility check looks at: labels for every field, headings, scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labels: set[str] = set()
        self.tags: list[str] = []
        self.html_lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = a.get("lang") or ""
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append(a.get("id") or "")
        if tag == "label":
            self.labels.add(a.get("for") or "")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_reads_whole_with_no_script_and_every_field_labelled(portal: PortalSettings, locale: str) -> None:
    html = page(portal, locale)
    audit = Audit()
    audit.feed(html)
    assert audit.html_lang == locale
    assert "script" not in audit.tags  # works without JavaScript
    assert audit.fields and all(f and f in audit.labels for f in audit.fields), "every field has its label"
    assert audit.tags.count("h1") == 1
    assert 'name="viewport" content="width=device-width' in html
    t = texts(locale)
    for word in (t["next_for_you"], t["state_done"], t["state_stuck"], t["success_criteria"], t["csm"]):
        assert str(escape(word)) in html
    assert "Leo Martins" in html and "Online booking page live" in html
    assert "--brand: #123456" in html


def test_the_contracts_language_shows_step_titles_and_dates_in_it(portal: PortalSettings) -> None:
    html = page(portal, "ru")
    assert "Пригласите команду" in html and "Самостоятельная настройка" in html
    assert "9 марта 2026" in html  # the step's due date, in Russian
    assert "Connect your first integration" in html  # no Russian title: the playbook's own


def test_what_a_person_may_do_follows_the_plan(portal: PortalSettings) -> None:
    html = page(portal, "en")
    done_buttons = re.findall(r'name="action" value="done"><input type="hidden" name="step" value="(\w+)"', html)
    assert "log_in" not in done_buttons  # done, and completed by a product event: nothing to click
    assert set(done_buttons) == {"invite_team", "connect_integration"}
    assert "Done by itself when it happens in the product." not in html  # log_in is done: no note needed
    assert "We need the admin password &lt;script&gt;" in html  # a reason is text, never markup
    assert "Who: Sam Lee" in html  # the owner by name; the others by role
    # "What's next for you": Priya's open step of her role, not Sam's.
    next_section = html.split('id="next"')[1].split("</section>")[0]
    assert "Invite your team" in next_section and "Connect your first integration" not in next_section


def test_an_invited_colleague_acts_only_on_their_step(portal: PortalSettings) -> None:
    html = page(portal, "en", "sam@brightpath.example", "steps")
    assert "You were invited to help with the steps marked for you" in html
    acted_on = set(re.findall(r'<input type="hidden" name="step" value="(\w+)">', html))
    assert acted_on == {"connect_integration"}
    assert 'value="pause"' not in html  # a pause is the company's call, not a colleague's


def test_each_form_has_its_own_key(portal: PortalSettings) -> None:
    html = page(portal, "en")
    seals = re.findall(r'name="form" value="([^"]+)"', html)
    assert len(seals) == len(set(seals)) > 5


def test_a_plan_of_a_finished_onboarding_shows_no_forms(portal: PortalSettings) -> None:
    html = page(portal, "en", plan=PLAN.model_copy(update={"state": "cancelled"}))
    assert texts("en")["state_cancelled"] in html
    assert '<form method="post"' not in html


def test_dates_are_the_days_of_the_plan(portal: PortalSettings) -> None:
    assert PLAN.due_at == datetime(2026, 4, 1, 9, tzinfo=UTC)
    assert "April 1, 2026" in page(portal, "en")
