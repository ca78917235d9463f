"""`admin.py playbook rollout` on a real dev server: a dry run over onboardings in different
phases, then the real rollout, then the same rollout again.

The dry run prints each onboarding's changes, computed by simulation, refuses the one whose
state cannot be mapped (with its reason) and changes nothing; the real rollout changes
exactly what the dry run said (the command simulates again from each onboarding's new state
and says so, and its lines equal the dry run's); run again, it skips what it did.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from typer.testing import CliRunner

import admin
from adapters.config import Settings
from onboarding.journey import OnboardingInput
from onboarding.messages import MarkStuck, ProductEvent
from service import send
from service.start import parse_contract, start
from tests.conftest import contract
from tests.rollout_playbooks import load, v2_text, write
from tests.test_scale_out import dev_server_running
from worker import build_worker

QUEUE = "rollout"


@pytest_asyncio.fixture
async def live(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    with dev_server_running(tmp_path) as address:
        monkeypatch.setenv("TEMPORAL_ADDRESS", address)
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        async with build_worker(client, QUEUE, settings=settings):
            yield client


async def state(client: Client, account: str) -> OnboardingInput:
    return await client.get_workflow_handle(f"onboarding-{account}").query("get_state", result_type=OnboardingInput)


async def onboarding(client: Client, account: str, phase: str) -> None:
    signed = parse_contract(json.dumps(contract("smb", account_id=account)))
    handle = await start(client, signed, task_queue=QUEUE)
    if phase == "early_training":
        await send.signal(handle, ProductEvent(name="first_login", id=f"{account}-login"))
    await onboarding_in(client, account, phase)


async def onboarding_in(client: Client, account: str, phase: str) -> None:
    for _ in range(100):
        if (await state(client, account)).progress is not None:
            s = await state(client, account)
            assert s.progress is not None
            if s.playbook.phases[s.progress.phase_index].id == phase:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{account} never reached {phase}")


async def admin_says(*args: str) -> tuple[int, list[str]]:
    result = await asyncio.to_thread(CliRunner().invoke, admin.app, list(args))
    return result.exit_code, result.output.splitlines()


def by_account(lines: list[str]) -> dict[str, list[str]]:
    """The lines each onboarding got (its head line and the indented ones under it)."""
    out: dict[str, list[str]] = {}
    account = ""
    for line in lines:
        if line.startswith(("Dry run", "Rolling", "Summary")):
            continue
        if not line.startswith(" "):
            account = line.split(":", 1)[0]
        if account:
            out.setdefault(account, []).append(line)
    return out


async def test_a_dry_run_then_the_rollout_changes_exactly_what_it_said(live: Client, tmp_path: Path) -> None:
    await onboarding(live, "acme-setup", "self_serve_setup")
    await onboarding(live, "acme-training", "early_training")
    await onboarding(live, "acme-stuck", "early_training")
    await live.get_workflow_handle("onboarding-acme-stuck").execute_update(
        "mark_stuck", MarkStuck(step="quick_start", reason="no time")
    )
    # v2 without the step's mapping: the onboarding stuck on that step cannot be mapped.
    new = write(tmp_path, "smb-v2.yaml", v2_text().replace("  steps: {quick_start: guide}\n", ""))
    v1 = (await state(live, "acme-setup")).playbook.version
    v2 = load(new.read_text()).version
    where = "OnboardingPhase IN ('self_serve_setup', 'early_training')"
    code, bad = await admin_says("playbook", "rollout", str(new), "--where", "OnboardingPhase = ", "--dry-run")
    assert code == 2 and "--where: the visibility store refused the query" in "\n".join(bad)

    code, dry = await admin_says("playbook", "rollout", str(new), "--where", where, "--dry-run", "--by", "ops-ana")
    assert code == 1, dry  # one refusal
    said = by_account(dry)
    assert said["acme-stuck"] == [
        "acme-stuck: refused: cannot map this onboarding onto the new playbook: step 'quick_start' is not in the new"
        " playbook; add it under mapping.steps (its new id, or null)"
    ]
    assert said["acme-setup"][0] == f"acme-setup: {v1} -> {v2} (1 change)"
    assert "  - " in said["acme-setup"][1] and "email reengagement to champion" in said["acme-setup"][1]
    assert said["acme-training"][0].startswith(f"acme-training: {v1} -> {v2}")
    assert dry[-1].startswith("Summary: 2 would change, 0 would move") and "1 refused" in dry[-1]
    assert {(await state(live, a)).playbook.version for a in ("acme-setup", "acme-training", "acme-stuck")} == {v1}

    code, real = await admin_says("playbook", "rollout", str(new), "--where", where, "--by", "ops-ana")
    done = by_account(real)
    for account in ("acme-setup", "acme-training"):
        assert done[account][:-1] == said[account], account  # the same changes, line for line
        assert done[account][-1] == "  applied; the journey now is what the dry run said"
        after = await state(live, account)
        assert after.playbook.version == v2
    assert (await state(live, "acme-training")).playbook.phases[1].id == "training"
    assert (await state(live, "acme-stuck")).playbook.version == v1
    status = await live.get_workflow_handle("onboarding-acme-training").query(send.STATUS_QUERY)
    assert status["playbook"] == v2 and status["phase"] == "training"

    # An onboarding in an A/B test group is changed only by a rollout for that group.
    variant = load(new.read_text()).model_copy(update={"variant": "short"})
    signed = parse_contract(json.dumps(contract("smb", account_id="acme-group")))
    await start(live, signed, plan=variant, task_queue=QUEUE)
    await onboarding_in(live, "acme-group", "self_serve_setup")
    code, grouped = await admin_says("playbook", "rollout", str(new), "--where", "WorkflowId = 'onboarding-acme-group'")
    assert code == 1 and grouped[1] == (
        "acme-group: refused: it is in the A/B test group 'short'; roll that group's playbook out with --variant short"
    )

    # Run again (acme-training's phase is `training` now, so the query names it too): nothing more to do.
    code, again = await admin_says("playbook", "rollout", str(new), "--where", where.replace(")", ", 'training')"))
    assert f"acme-setup: already on {v2}; skipped" in again and f"acme-training: already on {v2}; skipped" in again
    assert again[-1].startswith("Summary: 0 changed, 0 moved") and "2 already on this version" in again[-1]
    # The search attribute follows: the visibility store finds them by version.
    for _ in range(50):
        found = {wf.id async for wf in live.list_workflows(f"OnboardingPlaybook = '{v2}'")}
        if len(found) == 2:
            break
        await asyncio.sleep(0.2)
    assert found == {"onboarding-acme-setup", "onboarding-acme-training"}


def test_a_playbook_that_does_not_load_is_refused_before_anything_runs(tmp_path: Path) -> None:
    text = v2_text().replace("{early_training: training}", "{early_training: nowhere}")
    broken = write(tmp_path, "broken.yaml", text)
    result = CliRunner().invoke(admin.app, ["playbook", "rollout", str(broken), "--dry-run"])
    assert result.exit_code == 2
    assert "mapping.phases.early_training: this playbook has no phase 'nowhere'" in result.output
