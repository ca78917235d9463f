"""The Temporal UI, in a real headless Chromium: what ops see of onboardings in different states.

Needs Debian's browser (`apt-get install -y chromium chromium-driver`) and Playwright's Python
package pointed at it (`pip install playwright`; never `playwright install`, which downloads).
Screenshots go to a temporary directory; `UPDATE_SCREENSHOTS=1` writes them to
docs/screenshots/, where the walkthrough shows them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import admin
import starter
from tests import live_stack
from tests.live_stack import ROOT, LiveStack

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "the Temporal UI test needs Debian's Chromium: apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Temporal UI test needs Playwright's Python package: pip install playwright"
)

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ATTRIBUTES = ["OnboardingSegment", "OnboardingPhase", "OnboardingHealth", "OnboardingOwner", "OnboardingEscalated"]
# The columns an ops person picks once with the table's column picker (the UI keeps them in local storage).
COLUMNS = [{"label": label} for label in ["Status", "Workflow ID", *ATTRIBUTES, "OnboardingPaused", "Start"]]


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveStack]:
    """A fresh stack with three onboardings in different states, as the example contracts sign them."""
    live = live_stack.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            live.use(env)
            for segment in ("smb", "mid_market", "enterprise"):
                assert starter.main([f"contracts/{segment}.json"]) == 0
            for account in ("brightpath-dental", "northwind-logistics", "globex-manufacturing"):
                live.wait_for_timeline(account)
            steps = [
                ["event", "brightpath-dental", "first_login"],
                *[["event", "brightpath-dental", "support_ticket"]] * 3,  # rising support load: red
                ["kickoff-done", "northwind-logistics", "--notes", "Goals and plan agreed"],
                ["pause", "globex-manufacturing", "--reason", "Fiscal year-end freeze", "--until", "2099-01-15"],
            ]
            for step in steps:
                result = CliRunner().invoke(admin.app, step)
                assert result.exit_code == 0, f"{step}: {result.output}"
        yield live
    finally:
        live_stack.shutdown(live)


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[[object, str], Path]:
    folder = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path

    def save(page: object, name: str) -> Path:
        path = folder / name
        page.screenshot(path=str(path))  # type: ignore[attr-defined]
        assert path.stat().st_size > 20_000, f"{name} looks blank"
        return path

    return save


def until(check: Callable[[], bool], page: object, seconds: float = 45) -> None:
    """Visibility catches up a moment after the workflows change: look again, reload now and then."""
    deadline = time.monotonic() + seconds
    reload_at = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, "the UI did not show it in time"
        page.wait_for_timeout(500)  # type: ignore[attr-defined]
        if time.monotonic() > reload_at:
            page.reload()  # type: ignore[attr-defined]
            reload_at = time.monotonic() + 5


def test_ops_find_onboardings_filter_red_and_read_what_one_waits_for(
    stack: LiveStack, shoot: Callable[[object, str], Path]
) -> None:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 640})
        context.add_init_script(
            f"localStorage.setItem('namespace-workflow-table-columns', {json.dumps(json.dumps({'default': COLUMNS}))})"
        )
        page = context.new_page()
        page.goto(f"{stack.ui_url}/namespaces/default/workflows")

        def row(workflow_id: str) -> str:
            rows = page.get_by_role("row").filter(has_text=workflow_id)
            return rows.first.inner_text() if rows.count() else ""

        def cells(workflow_id: str) -> list[str]:
            """The row's cells after the workflow id: the search attribute columns, then the start."""
            words = row(workflow_id).split()
            return words[len(words) - words[::-1].index(workflow_id) :] if workflow_id in words else []

        until(
            lambda: (
                "red" in cells("onboarding-brightpath-dental") and "TRUE" in cells("onboarding-globex-manufacturing")
            ),
            page,
        )
        header = page.get_by_role("row").first.inner_text()
        assert all(name in header for name in ATTRIBUTES)
        assert cells("onboarding-brightpath-dental")[:6] == ["smb", "early_training", "red", "csm-leo", "TRUE", "FALSE"]
        assert cells("onboarding-northwind-logistics")[:5] == [
            "mid_market",
            "kickoff_planning",
            "green",
            "csm-dmitri",
            "FALSE",
        ]
        assert cells("onboarding-globex-manufacturing")[:6] == [
            "enterprise",
            "discovery_planning",
            "green",
            "csm-amara",
            "FALSE",
            "TRUE",
        ]
        shoot(page, "ui-onboardings.png")

        search = page.get_by_test_id("workflow-manual-search-input")
        if not search.is_visible():
            page.get_by_test_id("toggle-manual-query").click()
        search.fill('OnboardingHealth="red"')
        search.press("Enter")
        until(lambda: bool(row("onboarding-brightpath-dental")) and not row("onboarding-northwind-logistics"), page)
        assert "OnboardingHealth" in page.url  # the filter is in the address, to share or bookmark
        assert not row("onboarding-globex-manufacturing")
        shoot(page, "ui-health-red.png")

        page.get_by_role("link", name="onboarding-brightpath-dental").first.click()
        page.get_by_role("tab", name="User Metadata").click()
        # The UI renders each user-metadata text (markdown) in its own frame.
        summary = page.frame_locator("#user-metadata-summary").locator("body")
        details = page.frame_locator("#user-metadata-current-details").locator("body")
        details.get_by_text("Waiting for:").wait_for(timeout=15_000)
        assert summary.inner_text().strip() == "BrightPath Dental · SMB tech-touch"
        waits, upcoming, escalations = details.inner_text().strip().splitlines()
        assert waits == "Early training (phase 2 of 4). Waiting for: Work through the quick-start guide (champion)."
        assert upcoming.startswith("Next: personal_welcome_reminder to csm ")
        assert escalations == "Open escalations: 1 (Rising support load during onboarding)."
        shoot(page, "ui-current-details.png")
        browser.close()
