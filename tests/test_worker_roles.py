"""Workers split by role (WORKER_ROLE) on one task queue run an onboarding together."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from pathlib import Path

from sqlmodel import Session, col, select
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from adapters.config import Settings
from adapters.db import OutboxEmail, TimelineEvent, engine, upgrade
from service.start import parse_contract, start
from tests.live_stack import ROOT, LiveStack, live  # noqa: F401 (the fixture)
from tuning import Tuning
from worker import build_worker


async def test_the_activities_worker_sends_the_email_the_workflows_worker_decided(
    live: LiveStack,  # noqa: F811
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'roles.db'}"
    upgrade(database)
    # One database, an outbox each: the .eml shows which process sent the email.
    settings = {
        role: dataclasses.replace(Settings.from_env(), database_url=database, outbox_dir=tmp_path / role)
        for role in ("workflows", "activities")
    }
    clients = [await Client.connect(live.address, data_converter=pydantic_data_converter) for _ in settings]
    queue = f"roles-{uuid.uuid4().hex[:8]}"
    workflows, activities = (
        build_worker(client, queue, Tuning(role=role), settings[role])  # type: ignore[arg-type]
        for client, role in zip(clients, settings, strict=True)
    )
    account = f"roles-{queue[6:]}"
    base = json.loads((ROOT / "contracts" / "smb.json").read_text())
    contract = parse_contract(json.dumps(base | {"account_id": account}))
    async with workflows, activities:
        handle = await start(clients[0], contract, task_queue=queue)
        began = time.monotonic()
        sent = select(OutboxEmail).where(OutboxEmail.template == "welcome", col(OutboxEmail.sent_at).is_not(None))
        timeline = select(TimelineEvent.kind).where(TimelineEvent.account_id == account)
        recorded: set[str] = set()
        # The records lane writes the email's line once the email's activity has completed.
        while not ({"phase", "email"} <= recorded):
            assert time.monotonic() - began < 60, f"within a minute, only {sorted(recorded)} were recorded"
            await asyncio.sleep(0.2)
            with Session(engine(database)) as db:
                recorded = set(db.exec(timeline).all()) if db.exec(sent).first() else set()
        await handle.terminate("test over")
    # The email left from the activities worker; the records lane is a local activity, so only
    # the workflows worker can have written the timeline.
    assert [p.name for p in (tmp_path / "activities").glob("*.eml")] and not list(tmp_path.glob("workflows/*.eml"))
