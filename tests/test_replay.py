"""Saved histories of real runs still replay on today's workflow code (in-flight safety).

Every run of each recorded onboarding is here: the onboarding run, a run it continued as new
into mid-onboarding, and the check-in runs after it. A workflow change that in-flight
onboardings depend on goes behind `workflow.patched(...)`; if it does not, these stop
replaying and this test fails. (The v1/v2 histories and their patches were retired with the
state-machine redesign, before any deployment depended on them: see the README's upgrade notes.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.onboarding import OnboardingWorkflow

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))


def ends_with(history: WorkflowHistory) -> EventType.ValueType:
    return history.events[-1].event_type


def test_the_histories_cover_every_segment_every_kind_of_run() -> None:
    names = {p.stem for p in HISTORIES}
    for journey in ("smb_happy_path", "mid_market_happy_path", "enterprise_worst_case", "smb_chatty_product"):
        assert f"v3_{journey}.run1" in names and f"v3_{journey}.run2" in names, journey
    # A run that received a playbook rollout (twice: the second is a no-op).
    assert "v4_smb_rollout.run1" in names and "apply_playbook" in (HISTORY_DIR / "v4_smb_rollout.run1.json").read_text()
    chatty = [load(p) for p in HISTORIES if "chatty" in p.stem]
    # The chatty product's onboarding continued as new before it completed: a run in the middle.
    assert len(chatty) >= 3 and all(
        ends_with(h) == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW for h in chatty[:2]
    )


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[OnboardingWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(load(path), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"
