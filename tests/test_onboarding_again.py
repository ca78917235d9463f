"""An account is onboarded again once its last onboarding ended; never while one is open.

A churned customer who re-signs after `cancel`, or an onboarding that failed or was
terminated: the same workflow id starts a new run, and the starter and the intake say how the
previous one ended. While a run is open, a second start is refused as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from temporalio.testing import WorkflowEnvironment

from intake.app import IntakeSettings, create_app
from intake.signing import headers
from onboarding.messages import Cancel
from onboarding.models import Status
from service import send
from service.start import previous_outcome
from tests.conftest import Run, contract
from tests.live_stack import ROOT

SECRET = "onboarding-again-secret-0123"


def starter(env: WorkflowEnvironment, path: Path) -> subprocess.CompletedProcess[str]:
    """`python starter.py CONTRACT.json` against the test server, as sales ops run it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PAYLOAD_"))}
    command = [sys.executable, "starter.py", str(path)]
    address = env.client.service_client.config.target_host
    return subprocess.run(
        command, cwd=ROOT, env=base | {"TEMPORAL_ADDRESS": address}, capture_output=True, text=True, timeout=60
    )


async def test_a_cancelled_onboarding_can_start_again_and_the_starter_says_so(
    env: WorkflowEnvironment, onboard: Callable[..., Any], tmp_path: Path
) -> None:
    run: Run = await onboard("smb")
    account, workflow_id = run.contract.account_id, run.handle.id
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(contract("smb", account_id=account)))

    refused = starter(env, signed)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"{account}: an onboarding for this account already exists: {workflow_id}"

    await send.act(run.latest, Cancel(reason="churned", id="cancel-1"))
    ended = await run.latest.result()
    assert isinstance(ended, Status) and ended.state == "cancelled"
    again = starter(env, signed)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[:2] == [
        f"started {workflow_id} (smb)",
        "started again: the previous onboarding ended (cancelled)",
    ]
    assert starter(env, signed).returncode == 1  # the new run is open: refused again

    await env.client.get_workflow_handle(workflow_id).terminate("test: stuck")
    third = starter(env, signed)
    assert third.returncode == 0, third.stderr
    assert "started again: the previous onboarding ended (terminated)" in third.stdout
    await env.client.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_first_onboarding_says_nothing_about_a_previous_one(env: WorkflowEnvironment, tmp_path: Path) -> None:
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(contract("smb", account_id="first-timer")))
    assert await previous_outcome(env.client, "onboarding-first-timer") is None
    first = starter(env, signed)
    assert first.returncode == 0, first.stderr
    assert "again" not in first.stdout
    await env.client.get_workflow_handle("onboarding-first-timer").terminate("test over")


async def test_the_intake_starts_again_after_an_ended_onboarding_and_finds_an_open_one(
    env: WorkflowEnvironment, onboard: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    run: Run = await onboard("smb")
    await send.act(run.latest, Cancel(reason="lost", id="cancel-1"))
    await run.latest.result()
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    app = create_app(IntakeSettings(secret=SECRET, max_body=65536, max_skew=300))
    app.state.client = env.client
    raw = json.dumps(contract("smb", account_id=run.contract.account_id)).encode()
    with TestClient(app) as http:
        answers = [
            http.post("/contracts", content=raw, headers=headers(SECRET, raw) | {"Content-Type": "application/json"})
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [201, 200]
    assert [(a.json()["outcome"], a.json()["previous"]) for a in answers] == [
        ("started", "cancelled"),
        ("already_onboarding", None),
    ]
    await env.client.get_workflow_handle(run.handle.id).terminate("test over")
