"""Every admin action acts once, whatever happens to the command: timeouts, retries, wrong owners.

The retry case runs on the real dev server (the time-skipping server does not keep an update
for a worker that is down the way a real one does), with the admin script run as a CSM runs
it: `python admin.py ...`, in its own process, with a short ADMIN_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

import admin
from adapters.config import Settings
from adapters.db import OutboxEmail, TimelineEvent, engine
from cli import actions, calls
from connection import binary
from onboarding.messages import CATALOGUE, Action, ProductEvent, kind_of
from service.start import parse_contract, start
from tests.conftest import Run, contract
from tests.live_stack import ROOT
from worker import build_worker
from workflows import attributes

INVITE = ["connect_integration", "--role", "it_admin", "--name", "Sam Lee", "--email", "sam.lee@brightpath.example"]


@pytest_asyncio.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=attributes.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    ) as env:
        yield env


def admin_env(env: WorkflowEnvironment, state: Path, seconds: float) -> dict[str, str]:
    """The environment a CSM's terminal has: this server, this database, their own state folder."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "PAYLOAD_"))}
    return base | {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "ONBOARDING_STATE_DIR": str(state),
        "ADMIN_TIMEOUT_SECONDS": str(seconds),
        "CSM_ID": "csm-leo",
    }


async def admin_command(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """`python admin.py ARGS...` in its own process; how long it took."""
    began = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "admin.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, time.monotonic() - began


def invitations(settings: Settings, account: str) -> int:
    with Session(engine(settings.database_url)) as db:
        query = select(OutboxEmail.key).where(OutboxEmail.account_id == account)
        return len(db.exec(query.where(OutboxEmail.template == "colleague_invitation")).all())


def recorded(settings: Settings, account: str) -> int:
    with Session(engine(settings.database_url)) as db:
        return len(db.exec(select(TimelineEvent.id).where(TimelineEvent.account_id == account)).all())


async def eventually(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.2)


async def quiet(handle: WorkflowHandle[Any, Any], seconds: float = 1.5) -> list[Any]:
    """The history once nothing has been added to it for a while."""
    events: list[Any] = []
    while True:
        latest = [e async for e in handle.fetch_history_events()]
        if events and len(latest) == len(events):
            return latest
        events = latest
        await asyncio.sleep(seconds)


def accepted(events: list[Any], name: str) -> int:
    """How many updates of this name the onboarding accepted."""
    kind = ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    updates = [e.workflow_execution_update_accepted_event_attributes for e in events if e.event_type == kind]
    return sum(u.accepted_request.input.name == name for u in updates)


async def test_an_invite_retried_after_a_timeout_sends_one_invitation(
    dev_server: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    client, queue, account = dev_server.client, f"retry-{uuid.uuid4()}", f"retry-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "admin-state"
    async with build_worker(client, queue):
        handle = await start(client, parse_contract(json.dumps(contract("smb", account_id=account))), task_queue=queue)
        await eventually(lambda: recorded(settings, account) > 0)  # under way: the team is assigned
        await quiet(handle)

    # The worker is down: the CSM's invite gets no answer within the admin script's timeout.
    first, took = await admin_command(["invite", account, *INVITE], admin_env(dev_server, state, 2))
    assert first.returncode == 3, first.stderr
    assert took < 15, f"the admin script waited {took:.0f} s, past its own 2 s timeout"
    assert first.stderr.splitlines() == [
        f"{account}: no answer within 2 seconds: is the worker running (python worker.py, or python stack.py)?",
        f"The invite action may still be applied when a worker picks it up. Check: python admin.py status {account}",
        "Running the same command again applies it at most once.",
    ]
    [pending] = list(state.iterdir())
    kept = pending.read_text()
    assert "Sam" not in kept and "sam.lee" not in kept  # the journal keeps the id, not the invitee

    # The worker is back and the CSM runs the same command again: one invitation, not two.
    async with build_worker(client, queue):
        second, _ = await admin_command(["invite", account, *INVITE], admin_env(dev_server, state, 30))
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith(f"{account}: invitation for step connect_integration sent to the it_admin")
        assert "resending the invite action an earlier run left unanswered" in second.stderr
        await eventually(lambda: invitations(settings, account) > 0)
        history = await quiet(handle)
    assert invitations(settings, account) == 1
    assert accepted(history, "invite") == 1
    assert list(state.iterdir()) == []  # answered: the next invite is a new action


async def test_a_refused_reassign_leaves_the_history_unchanged(
    env: WorkflowEnvironment, onboard: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run: Run = await onboard("smb")
    await run.settled()
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("ONBOARDING_STATE_DIR", str(tmp_path / "admin-state"))
    before = [e async for e in run.latest.fetch_history_events()]

    def reassign(owner: str) -> Result:
        return CliRunner().invoke(admin.app, ["reassign", run.contract.account_id, owner, "--by", "csm-leo"])

    for owner in ("csm-nobody", "mgr-elena"):  # not in the roster; in it, but not a CSM
        refused = await asyncio.to_thread(reassign, owner)
        assert refused.exit_code == 1, refused.output
        assert refused.stderr.strip() == (
            f"{run.contract.account_id}: refused: owner: no active CSM with id {owner!r} in the staff roster"
        )
    after = [e async for e in run.latest.fetch_history_events()]
    assert len(after) == len(before)

    owner = (await run.status()).owner
    other = "csm-siti" if owner != "csm-siti" else "csm-leo"
    moved = await asyncio.to_thread(reassign, other)
    assert moved.exit_code == 0, moved.output
    assert (await run.status()).owner == other


COMMANDS = [
    ["kickoff-done", "acme"],
    ["module-done", "acme", "quick_start"],
    ["step-done", "acme", "log_in"],
    ["criteria-met", "acme", "--evidence", "34 bookings"],
    ["skip", "acme", "invite_team"],
    ["invite", "acme", *INVITE],
    ["pause", "acme", "--reason", "Holidays"],
    ["resume", "acme"],
    ["reassign", "acme", "csm-siti"],
    ["cancel", "acme", "duplicate"],
    ["touch", "acme", "personal_welcome"],
    ["resolve", "acme", "red_flag.low_csat.1"],
    ["contact", "acme", "champion", "--email", "priya@brightpath.example", "--name", "Priya Shah"],
    ["event", "acme", "first_login"],
    ["claim", "acme", "red_flag.low_csat.1"],
    ["kickoff-at", "acme", "2030-03-04T15:00:00+01:00"],
    ["approve-invite", "acme", "contractor@agency.example"],
    ["stuck", "acme", "sso", "--reason", "Their IdP is not listed"],
    ["hand", "acme", "sso", "raj@northwind.example"],
]
CUSTOMER_ONLY = {"request_pause"}
"""Sent from the customer's own plan: the CSM simply pauses."""


def test_every_message_in_the_catalogue_has_an_admin_command(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin script sends what the catalogue declares: each action and event kind, by its model."""
    sent: list[Action | ProductEvent] = []

    async def update(account: str, action: Action) -> None:
        sent.append(action)

    async def signal(account: str, event: ProductEvent) -> None:
        sent.append(event)

    monkeypatch.setattr(calls, "update", update)
    monkeypatch.setattr(calls, "signal", signal)
    monkeypatch.setattr(actions, "one_line", lambda status: "sent")
    for args in COMMANDS:
        result = CliRunner().invoke(admin.app, [*args, "--by", "csm-leo"] if args[0] != "event" else args)
        assert result.exit_code == 0, (args, result.output)
    wanted = {k.name for k in CATALOGUE if k.name not in ("email_feedback", "apply_playbook")} - CUSTOMER_ONLY
    assert {kind_of(m).name for m in sent} == wanted
    assert all(m.by == "csm-leo" for m in sent if isinstance(m, Action))
