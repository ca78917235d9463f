"""The customer's whole story in a real headless Chromium, on `python stack.py` as users run it.

Open the personal link from the welcome .eml in the outbox, see the plan in the contract's
language, complete a step, skip one, mark one stuck (the CSM's escalation shows in
`admin.py escalations`), invite a colleague, open the colleague's link from their .eml and
complete the step they were invited to; `admin.py status` shows each action. Then the
refusal page of a changed link, and screenshots of the plan in each locale and on a phone
(`UPDATE_SCREENSHOTS=1` writes them to docs/screenshots/).
"""

from __future__ import annotations

import email
import json
import os
import re
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from tests import live_stack
from tests.live_stack import ROOT, LiveStack
from tests.test_ui import BROWSER_ARGS, CHROMIUM, sync_api

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/portal/p/[A-Za-z0-9_=-]+)")
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def live() -> Iterator[LiveStack]:
    stack = live_stack.start()
    try:
        yield stack
    finally:
        live_stack.shutdown(stack)


def eml(live: LiveStack, pattern: str, seconds: float = 30) -> Message:
    """The first .eml in the outbox matching the glob, once the worker has written it."""
    deadline = time.monotonic() + seconds
    while not (found := sorted((live.home / "outbox").glob(pattern))):
        outbox = sorted(p.name for p in (live.home / "outbox").glob("*.eml"))
        assert time.monotonic() < deadline, f"no email {pattern} in the outbox: {outbox}"
        time.sleep(0.2)
    return email.message_from_bytes(found[0].read_bytes())


def link_in(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
            if found := LINK.search(text):
                return found[1]
    raise AssertionError("the email carries no portal link")


def admin(live: LiveStack, command: str) -> str:
    result = live.sh(f"python admin.py {command}")
    assert result.returncode == 0, result.stderr
    return result.stdout


def shoot(page: object, name: str, tmp: Path, full_page: bool = True) -> None:
    folder = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp
    path = folder / name
    page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
    assert path.stat().st_size > 20_000, f"{name} looks blank"


def test_a_customer_team_works_through_its_plan_in_the_browser(live: LiveStack, tmp_path: Path) -> None:
    account = live.begin("mid_market", locale="ru")
    welcome = eml(live, f"onboarding-{account}*signed.welcome.eml")
    assert welcome["To"].endswith("<maya@northwind.example>")
    link = link_in(welcome)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        maya = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        maya.goto(link)
        assert maya.get_by_role("heading", level=1).inner_text() == "Northwind Logistics: план онбординга"
        assert maya.locator("html").get_attribute("lang") == "ru"

        def back() -> None:
            maya.get_by_role("link", name="Назад к плану").click()

        maya.locator("#plan-questionnaire").get_by_role("button", name="Отметить как готово").click()
        assert "отмечен как готовый" in maya.locator("main").inner_text()
        back()
        maya.locator("#plan-data_export").get_by_role("button", name="Пропустить пока").click()
        assert "пока пропущен" in maya.locator("main").inner_text()
        back()
        stuck = maya.locator("#plan-invite_users")
        stuck.get_by_text("Застрял(а)").click()
        stuck.get_by_label("Что мешает?").fill("HR has not sent the list of dispatchers yet")
        stuck.get_by_role("button", name="Сообщить менеджеру").click()
        assert "застрял" in maya.locator("main").inner_text()
        back()
        sso = maya.locator("#plan-sso")
        sso.get_by_text("Пригласить коллегу к этому шагу").click()
        sso.get_by_label("Имя").fill("Ana Ruiz")
        sso.get_by_label("Рабочая почта").fill("ana@northwind.example")
        sso.get_by_label("Роль").select_option("it_admin")
        sso.get_by_role("button", name="Отправить приглашение").click()
        assert "приглашение" in maya.locator("main").inner_text()
        back()

        escalations = admin(live, f"escalations --account {account}")
        assert "is stuck" in escalations and "HR has not sent the list of dispatchers yet" in escalations

        invitation = eml(live, f"onboarding-{account}*invite.1.eml")
        assert invitation["To"].endswith("<ana@northwind.example>")
        ana = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        ana.goto(link_in(invitation))
        assert "Вас пригласили помочь" in ana.locator("main").inner_text()
        assert ana.locator("#plan-questionnaire button").count() == 0  # not hers to act on
        ana.locator("#plan-sso").get_by_role("button", name="Отметить как готово").click()
        assert "отмечен как готовый" in ana.locator("main").inner_text()

        status = json.loads(admin(live, f"status {account} --json"))
        assert {"questionnaire", "sso"} <= set(status["steps_done"])
        assert "data_export" in status["steps_skipped"]
        assert any("stuck" in e["reason"] for e in status["open_escalations"])
        timeline = admin(live, f"timeline {account}")
        assert "by customer:ana@northwind.example" in timeline and "by customer:maya@northwind.example" in timeline
        details = admin(live, f"status {account}")  # with the run's current details, as the Temporal UI shows them
        assert re.search(r"Open escalations: \d+ \(.*is stuck", details), details

        maya.reload()
        assert maya.locator('[data-step="questionnaire"]').first.get_attribute("data-state") == "done"
        assert maya.locator('[data-step="sso"]').first.get_attribute("data-state") == "done"
        for locale in ("ru", "en", "ms"):
            maya.goto(f"{link}?lang={locale}")
            assert maya.locator("html").get_attribute("lang") == locale
            shoot(maya, f"portal-{locale}.png", tmp_path)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        phone.goto(f"{link}?lang=en")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "no sideways scrolling on a phone"
        shoot(phone, "portal-phone.png", tmp_path, full_page=False)  # what a phone shows first

        revoked = admin(live, f"portal revoke {account} maya@northwind.example")
        assert "revoked" in revoked and "maya" not in revoked
        maya.goto(link)  # in the language she last chose
        assert maya.get_by_role("heading", level=1).inner_text() == "Pautan ini telah dimatikan"
        time.sleep(1.1)  # a link made in the same second as the revocation counts as made before it
        fresh = admin(live, f"portal link {account} maya@northwind.example").strip()
        maya.goto(fresh)
        assert maya.get_by_role("heading", level=1).inner_text().startswith("Northwind Logistics")
        assert live.sh(f"python admin.py portal link {account} nobody@northwind.example").returncode != 0

        token = link.rsplit("/", 1)[1]
        phone.goto(link[: -len(token)] + token[:30] + ("A" if token[30] != "A" else "B") + token[31:])
        assert phone.get_by_role("heading", level=1).inner_text() == "This link does not work"
        shoot(phone, "portal-refused.png", tmp_path, full_page=False)
        browser.close()
