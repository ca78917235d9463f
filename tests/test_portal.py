"""The portal on the real workflow (time-skipping server): each customer action, and each refusal with its page.

The intake app runs in-process over ASGI with the test server's client; links come from the
emails the worker really wrote, as a customer would open them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import pytest_asyncio
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from adapters.config import Settings
from adapters.db import HumanTask, TimelineEvent, engine
from intake.app import IntakeSettings, create_app
from onboarding.messages import Cancel
from portal import store, tokens
from portal.config import PortalSettings
from tests.conftest import Run

LINK = re.compile(r"http://testserver(/portal/p/[A-Za-z0-9_=-]+)")
FORM = re.compile(r'name="form" value="([^"]+)"')


@pytest.fixture(autouse=True)
def portal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("PORTAL_URL", "http://testserver/portal")


@pytest_asyncio.fixture
async def web(env, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(IntakeSettings("portal-test-secret-0123456789", 65536, 300))
    app.state.client = env.client
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def seal(html: str) -> str:
    """The sealed field of the page's first form (its CSRF token and idempotency key)."""
    found = FORM.search(html)
    assert found, "the page has no form"
    return found[1]


def browser(web: httpx.AsyncClient) -> httpx.AsyncClient:
    """Another browser: the same app, no cookies."""
    return httpx.AsyncClient(transport=web._transport, base_url="http://testserver")


def link_in(run: Run, template: str, to_email: str) -> str:
    row = next(r for r in run.outbox() if r.template == template and r.to_email == to_email)
    found = LINK.search(row.text)
    assert found, f"{template} carries no portal link"
    return found[1]


async def started(onboard, **changes: object) -> tuple[Run, str]:  # type: ignore[no-untyped-def]
    run = await onboard("mid_market", **changes)
    await run.settled()
    return run, link_in(run, "welcome", run.contract.contact("champion").email)


async def act(web: httpx.AsyncClient, link: str, **fields: str) -> httpx.Response:
    page = await web.get(link)
    assert page.status_code == 200, page.text
    return await web.post(f"{link}/act", data={"form": seal(page.text), **fields})


def rows(run: Run, name: str) -> list[TimelineEvent]:
    with Session(engine(run.settings.database_url)) as db:
        return list(
            db.exec(
                select(TimelineEvent).where(
                    TimelineEvent.account_id == run.contract.account_id, TimelineEvent.name == name
                )
            ).all()
        )


async def test_the_welcome_link_opens_the_plan_in_the_contracts_language(web, onboard) -> None:
    _, link = await started(onboard, locale="ru")
    page = await web.get(link)
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text and "Northwind Logistics: план онбординга" in page.text
    assert "Что дальше для вас" in page.text and "Анкета перед звонком" in page.text  # the playbook's own Russian
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    english = await web.get(f"{link}?lang=en")
    assert '<html lang="en">' in english.text and "What&#39;s next for you" in english.text
    assert '<html lang="en">' in (await web.get(link)).text  # the switch is remembered


async def test_a_person_completes_skips_and_marks_a_step_stuck_as_themself(web, onboard) -> None:
    run, link = await started(onboard)
    champion = run.contract.contact("champion").email
    done = await act(web, link, action="done", step="questionnaire")
    assert done.status_code == 200 and "is marked done" in done.text
    skipped = await act(web, link, action="skip", step="data_export")
    assert "skipped for now" in skipped.text
    stuck = await act(web, link, action="stuck", step="invite_users", reason="HR has not sent the list yet")
    assert stuck.status_code == 200 and "is stuck" in stuck.text
    status = await run.status()
    assert "questionnaire" in status.steps_done and "data_export" in status.steps_skipped
    await run.settled()
    by = {r.name: r.actor for r in rows(run, "complete_step") + rows(run, "skip_step") + rows(run, "mark_stuck")}
    assert by == {n: f"customer:{champion}" for n in ("complete_step", "skip_step", "mark_stuck")}
    with Session(engine(run.settings.database_url)) as db:
        tasks = db.exec(select(HumanTask).where(HumanTask.account_id == run.contract.account_id)).all()
    assert any("stuck" in t.reason and "HR has not sent the list yet" in t.reason for t in tasks)
    page = (await web.get(link)).text
    assert 'data-step="questionnaire" data-state="done"' in page
    assert 'data-step="data_export" data-state="skipped"' in page
    assert "HR has not sent the list yet" in page


async def test_a_one_click_email_button_changes_nothing_until_confirmed(web, onboard) -> None:
    run, link = await started(onboard)
    before = len(run.timeline("action"))
    confirm = await web.get(f"{link}/confirm/done/questionnaire")  # what a mail scanner would open
    assert confirm.status_code == 200 and "Please confirm" in confirm.text
    await run.settled()
    assert len(run.timeline("action")) == before
    sealed = seal(confirm.text)
    done = await web.post(f"{link}/act", data={"form": sealed, "action": "done", "step": "questionnaire"})
    assert "is marked done" in done.text
    assert "questionnaire" in (await run.status()).steps_done


async def test_an_invited_colleague_gets_their_own_link_scoped_to_their_step(web, onboard) -> None:
    run, link = await started(onboard)
    invited = await act(
        web, link, action="invite", step="sso", name="Ana Ruiz", email="ana@northwind.example", role="it_admin"
    )
    assert "We sent Ana Ruiz an invitation" in invited.text
    await run.settled()
    ana_link = link_in(run, "colleague_invitation", "ana@northwind.example")
    ana = browser(web)
    page = (await ana.get(ana_link)).text
    assert "You were invited to help" in page
    assert set(re.findall(r'name="step" value="(\w+)"', page)) == {"sso"}
    refused = await act(ana, ana_link, action="done", step="questionnaire")
    assert refused.status_code == 422 and "not one you were invited to help with" in refused.text
    done = await act(ana, ana_link, action="done", step="sso")
    assert "is marked done" in done.text
    assert [r.actor for r in rows(run, "complete_step")] == ["customer:ana@northwind.example"]


async def test_an_invitation_outside_the_company_waits_for_the_csm(web, onboard) -> None:
    run, link = await started(onboard)
    invited = await act(
        web, link, action="invite", step="sso", name="Eve", email="eve@outside.example", role="it_admin"
    )
    assert "Your CSM will approve the invitation" in invited.text
    await run.settled()
    assert not [r for r in run.outbox() if r.template == "colleague_invitation"]
    assert any(t.kind == "task" for t in run.tasks())


async def test_a_step_is_handed_to_someone_on_the_plan_and_a_pause_is_asked_for(web, onboard) -> None:
    run, link = await started(onboard)
    handed = await act(web, link, action="hand", step="billing_setup", to="lena@northwind.example")
    assert "is now with Lena Fischer" in handed.text
    outsider = await act(web, link, action="hand", step="sso", to="nobody@northwind.example")
    assert outsider.status_code == 422
    asked = await act(web, link, action="pause", reason="Fiscal year-end freeze", until="2099-01-15")
    assert asked.status_code == 200 and "Your CSM has been asked to pause" in asked.text
    await run.settled()
    assert (await run.status()).state == "active"  # mid-market: the CSM approves a pause
    (task,) = [t for t in run.tasks() if t.rule == "approve_pause"]
    assert "Fiscal year-end freeze" in task.reason
    assert [r.actor for r in rows(run, "hand_step")] == [f"customer:{run.contract.contact('champion').email}"]


# ---- refusals: a page that says why, and nothing changed -----------------------------------------


async def test_a_tampered_link_is_refused_with_a_page(web, onboard) -> None:
    run, link = await started(onboard)
    token = link.rsplit("/", 1)[1]
    bad = link[: -len(token)] + token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    page = await web.get(bad)
    assert page.status_code == 404
    assert "This link does not work" in page.text and "Traceback" not in page.text
    posted = await web.post(f"{bad}/act", data={"action": "done", "step": "questionnaire"})
    assert posted.status_code == 404
    assert "questionnaire" not in (await run.status()).steps_done


async def test_an_expired_link_asks_for_a_code_sent_by_email_then_opens(web, onboard, settings) -> None:
    run, _ = await started(onboard)
    champion = run.contract.contact("champion").email
    portal = PortalSettings.from_env()
    old = tokens.issue(portal, run.contract.account_id, champion, now=datetime.now(UTC) - timedelta(days=31))
    link = f"/portal/p/{old}"
    page = await web.get(link)
    assert page.status_code == 200 and "Confirm it is you" in page.text and "more than 30 days old" in page.text
    assert "Northwind" not in page.text  # nothing of the plan before the code
    sent = await web.post(f"{link}/code", data={"form": seal(page.text), "reason": "expired"})
    assert "We sent a 6-digit code" in sent.text
    (eml,) = settings.outbox_dir.glob("portal-code*.eml")
    code = re.findall(r"\b\d{6}\b", eml.read_text())[0]
    wrong = await web.post(
        f"{link}/verify", data={"form": seal(sent.text), "code": "000000" if code != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "That code is not right" in wrong.text
    right = await web.post(f"{link}/verify", data={"form": seal(sent.text), "code": code})
    assert right.status_code == 303
    assert "Northwind Logistics" in (await web.get(link)).text
    stranger = browser(web)  # the code trusted that browser only
    assert "Confirm it is you" in (await stranger.get(link)).text


async def test_an_older_link_in_a_new_browser_asks_for_a_code_first(web, onboard) -> None:
    run, link = await started(onboard)
    assert "Northwind Logistics" in (await web.get(link)).text  # a fresh link opens anywhere, once clicked
    portal = PortalSettings.from_env()
    champion = run.contract.contact("champion").email
    older = tokens.issue(portal, run.contract.account_id, champion, now=datetime.now(UTC) - timedelta(days=4))
    page = await browser(web).get(f"/portal/p/{older}")
    assert "This browser has not opened your plan before" in page.text and "Northwind" not in page.text
    assert "Northwind Logistics" in (await web.get(f"/portal/p/{older}")).text  # this browser opened it before


async def test_a_revoked_link_is_refused_and_a_newer_one_works(web, onboard) -> None:
    run, link = await started(onboard)
    champion = run.contract.contact("champion").email
    assert (await web.get(link)).status_code == 200
    db = engine(run.settings.database_url)
    store.revoke(db, run.contract.account_id, champion, "csm-leo", datetime.now(UTC))
    page = await web.get(link)
    assert page.status_code == 403 and "This link was turned off" in page.text
    refused = await web.post(f"{link}/act", data={"action": "done", "step": "questionnaire"})
    assert refused.status_code == 403
    portal = PortalSettings.from_env()
    newer = tokens.issue(portal, run.contract.account_id, champion, now=datetime.now(UTC) + timedelta(seconds=2))
    assert (await browser(web).get(f"/portal/p/{newer}")).status_code == 200


async def test_another_accounts_link_cannot_touch_this_account(web, onboard) -> None:
    ours, our_link = await started(onboard)
    theirs, their_link = await started(onboard)
    our_page = (await web.get(our_link)).text
    sealed = seal(our_page)
    # Their link with a form shown on our plan: refused, and neither plan changes.
    crossed = await web.post(f"{their_link}/act", data={"form": sealed, "action": "done", "step": "questionnaire"})
    assert crossed.status_code == 403 and "another plan" in crossed.text
    # Their link with any step id acts on their own plan only: no URL or field names an account.
    done = await act(web, their_link, action="done", step="questionnaire", account_id=ours.contract.account_id)
    assert "is marked done" in done.text
    assert "questionnaire" in (await theirs.status()).steps_done
    assert "questionnaire" not in (await ours.status()).steps_done


async def test_a_replayed_form_acts_once_and_says_so(web, onboard) -> None:
    run, link = await started(onboard)
    page = (await web.get(link)).text
    form = {"form": seal(page), "action": "done", "step": "questionnaire"}
    first = await web.post(f"{link}/act", data=form)
    again = await web.post(f"{link}/act", data=form)
    assert first.status_code == 200
    assert again.status_code == 409 and "already sent" in again.text
    assert len(rows(run, "complete_step")) == 1


async def test_a_form_without_this_browsers_cookie_is_refused(web, onboard) -> None:
    run, link = await started(onboard)
    sealed = seal((await web.get(link)).text)
    forged = await browser(web).post(f"{link}/act", data={"form": sealed, "action": "done", "step": "questionnaire"})
    assert forged.status_code == 403 and "cannot be used" in forged.text
    assert not rows(run, "complete_step")


async def test_a_step_that_cannot_be_skipped_or_confirmed_is_refused(web, onboard) -> None:
    run, link = await started(onboard)
    skip = await act(web, link, action="skip", step="admin_training")
    assert skip.status_code == 422 and "cannot be skipped" in skip.text
    automatic = await act(web, link, action="done", step="connect_integration")
    assert automatic.status_code == 422 and "completed by itself" in automatic.text
    vendor = await act(web, link, action="done", step="configure")  # the implementation specialist's
    assert vendor.status_code == 422 and "That step is ours to do" in vendor.text
    unknown = await act(web, link, action="done", step="no_such_step")
    assert unknown.status_code == 422 and "no such step" in unknown.text
    assert not rows(run, "skip_step") and not rows(run, "complete_step")


async def test_nothing_is_accepted_after_cancellation(web, onboard) -> None:
    run, link = await started(onboard)
    page = (await web.get(link)).text
    sealed = seal(page)
    await run.act(Cancel(by="csm-leo", reason="churned"))
    after = await web.post(f"{link}/act", data={"form": sealed, "action": "done", "step": "questionnaire"})
    assert after.status_code in (410, 422) and "has ended" in after.text
    assert not rows(run, "complete_step")


async def test_actions_are_rate_limited(web, onboard, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_ACTIONS_PER_10_MINUTES", "2")
    app = create_app(IntakeSettings("portal-test-secret-0123456789", 65536, 300))
    app.state.client = web._transport.app.state.client  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as limited:
        run, link = await started(onboard)
        await act(limited, link, action="done", step="questionnaire")
        await act(limited, link, action="skip", step="data_export")
        third = await act(limited, link, action="skip", step="sso")
        assert third.status_code == 429 and "Too many changes" in third.text
    assert "sso" not in (await run.status()).steps_skipped


async def test_no_address_or_link_reaches_the_logs(web, onboard, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    run, link = await started(onboard)
    await act(web, link, action="stuck", step="invite_users", reason="blocked")
    await web.get(link[:-4] + "AAAA")
    await run.settled()
    # What the server side logged (the test's own HTTP client logs the URLs it asks for).
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "portal: stuck applied" in text
    token = link.rsplit("/", 1)[1]
    for contact in run.contract.contacts:
        assert contact.email not in text
    assert token not in text
