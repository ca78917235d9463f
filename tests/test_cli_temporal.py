"""The stock `temporal` CLI drives and reads onboardings too: the payloads are plain JSON.

These are the lines docs/walkthrough.md shows, run against the local stack as written (the
CLI finds the server through TEMPORAL_ADDRESS, like everything else).
"""

from __future__ import annotations

import json
import time

from tests import live_stack
from tests.live_stack import LiveStack

live = live_stack.live


def test_signal_update_query_and_list_with_the_temporal_cli(live: LiveStack) -> None:
    account = live.begin("smb")
    wf = f"onboarding-{account}"

    signal = live.sh(
        f"""temporal workflow signal --workflow-id {wf} --name product_event --input '{{"name": "first_login"}}'"""
    )
    assert signal.returncode == 0 and "Signal workflow succeeded" in signal.stdout, signal.stderr

    update = live.sh(
        f"temporal workflow update execute --workflow-id {wf} --name module_completed"
        """ --input '{"module": "quick_start", "by": "csm-leo"}'"""
    )
    assert update.returncode == 0, update.stderr
    assert "modules_done:[quick_start]" in update.stdout and "steps_done:[log_in quick_start]" in update.stdout

    refused = live.sh(
        f"temporal workflow update execute --workflow-id {wf} --name module_completed"
        """ --input '{"module": "quick_start", "by": "csm-leo"}'"""
    )
    assert refused.returncode == 1
    assert "unable to update workflow: module 'quick_start' is already completed" in refused.stderr

    query = live.sh(f"temporal workflow query --workflow-id {wf} --name get_status")
    assert query.returncode == 0, query.stderr
    status = json.loads(query.stdout.split("QueryResult", 1)[1])
    assert status["account_id"] == account and status["phase"] == "adoption_support"
    assert status["steps_done"] == ["log_in", "quick_start"]

    live.sh(
        f"temporal workflow signal --workflow-id {wf} --name product_event"
        """ --input '{"name": "survey_answer", "goal_reached": false}'"""
    )
    deadline = time.monotonic() + 15
    while wf not in (red := live.sh("temporal workflow list --query \"OnboardingHealth='red'\"")).stdout:
        assert time.monotonic() < deadline, red.stdout + red.stderr
        time.sleep(0.3)
    assert red.returncode == 0 and "Running" in red.stdout


def test_a_malformed_payload_is_refused_naming_the_field(live: LiveStack) -> None:
    wf = f"onboarding-{live.begin('smb')}"
    bad = live.sh(f'temporal workflow update execute --workflow-id {wf} --name pause --input \'{{"until": "soon"}}\'')
    assert bad.returncode == 1
    assert "reason" in bad.stderr and "Field required" in bad.stderr
