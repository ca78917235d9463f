"""Saved histories of real runs still replay on today's workflow code (in-flight safety).

A workflow change that in-flight onboardings depend on goes behind `workflow.patched(...)`;
if it does not, the old histories below stop replaying and this test fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.onboarding import TIMELINE_AS_LOCAL_ACTIVITY, OnboardingWorkflow

HISTORY_DIR = Path(__file__).parent / "histories"
HISTORIES = sorted(HISTORY_DIR.glob("*.json"))


def test_there_are_histories_for_every_segment() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"v1_smb_happy_path", "v1_mid_market_happy_path", "v1_enterprise_worst_case"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[OnboardingWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


def scheduled_activities(history: WorkflowHistory) -> set[str]:
    return {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }


async def test_a_patched_change_runs_new_onboardings_while_old_histories_keep_their_path(onboard) -> None:
    """The timeline moved to a local activity behind `workflow.patched`: v1 histories (recorded
    before) still schedule record_timeline activities and replay; a new run records the patch
    marker and never schedules one."""
    old = WorkflowHistory.from_json("v1", json.loads((HISTORY_DIR / "v1_smb_happy_path.json").read_text()))
    assert "record_timeline" in scheduled_activities(old)

    run = await onboard("smb")
    await run.settled()
    new = await run.latest.fetch_history()
    markers = [e for e in new.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert any(TIMELINE_AS_LOCAL_ACTIVITY.encode() in e.SerializeToString() for e in markers)
    assert "record_timeline" not in scheduled_activities(new)
    assert [h.kind for h in run.timeline("phase")] == ["phase"]  # the rows are still written
