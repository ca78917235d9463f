"""Saved histories of real runs still replay on today's workflow code (in-flight safety).

A workflow change that in-flight onboardings depend on goes behind `workflow.patched(...)`;
if it does not, the old histories below stop replaying and this test fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.onboarding import OnboardingWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_for_every_segment() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"v1_smb_happy_path", "v1_mid_market_happy_path", "v1_enterprise_worst_case"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"replay-{path.stem}", json.loads(path.read_text()))
    replayer = Replayer(workflows=[OnboardingWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"
