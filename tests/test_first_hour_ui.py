"""The local stack's Web UI opens, on a browser's first visit, on the onboarding columns and saved views."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from adapters.db import Onboarding, engine
from adapters.web_ui import seed_script, with_seed
from tests.live_stack import LiveStack, live  # noqa: F401 (the fixture)
from tests.test_ui import BROWSER_ARGS, CHROMIUM, sync_api, until


def test_a_first_visit_shows_segment_phase_health_and_owner_columns_and_the_saved_views(
    live: LiveStack,  # noqa: F811
) -> None:
    account = live.begin("smb")
    with Session(engine(live.database_url)) as db:  # whoever the roster gave it, as other tests fill the roster
        onboarding = db.get(Onboarding, f"onboarding-{account}")
        assert onboarding is not None
        owner = onboarding.owner
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        page = browser.new_context(viewport={"width": 1920, "height": 800}).new_page()  # nothing stored: a first visit
        page.goto(f"{live.ui_url}/namespaces/default/workflows")
        listed = page.get_by_role("row").filter(has_text=f"onboarding-{account}")
        until(lambda: bool(listed.count()) and owner in listed.first.inner_text(), page)  # visibility catches up
        header = page.get_by_role("row").first.inner_text()
        for column in ("OnboardingSegment", "OnboardingPhase", "OnboardingHealth", "OnboardingOwner"):
            assert column in header
        assert "OnboardingNextAction" in header
        row = listed.first.inner_text().split()
        assert {"smb", "self_serve_setup", owner} <= set(row)
        page.get_by_text("Saved Views").first.click()
        page.get_by_text("Onboardings: red").first.wait_for(timeout=10_000)
        assert page.get_by_text("Onboardings: escalated").count() and page.get_by_text("Onboardings: paused").count()

        # A choice ops make afterwards is theirs: a reload does not put the seed back.
        page.evaluate(
            "localStorage.setItem('namespace-workflow-table-columns',"
            " JSON.stringify({default: [{label: 'Status', pinned: true}, {label: 'Workflow ID', pinned: true}]}))"
        )
        page.reload()
        until(lambda: bool(page.get_by_role("row").filter(has_text=f"onboarding-{account}").count()), page)
        assert "OnboardingHealth" not in page.get_by_role("row").first.inner_text()
        browser.close()


@pytest.mark.parametrize("namespace", ["default", "onboarding-prod"])
def test_the_seed_goes_first_in_the_head_and_only_fills_what_is_missing(namespace: str) -> None:
    page = b"<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>"
    seeded = with_seed(page, namespace).decode()
    assert seeded.startswith("<!doctype html><html><head><script>")
    assert f'var ns="{namespace}"' in seeded
    assert "if(!v[ns]||!v[ns].length)" in seed_script(namespace)  # never overwrites a stored choice
    assert with_seed(b"{}", namespace) == b"{}"  # not a page: untouched
