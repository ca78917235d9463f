"""The send rate holds across every worker on the queue (Temporal's task-queue rate limit), not per process."""

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
from adapters.db import OutboxEmail, engine, upgrade
from service.start import parse_contract, start
from tests.live_stack import ROOT, LiveStack, live  # noqa: F401 (the fixture)
from tuning import Tuning
from worker import build_worker

RATE = 4.0
ONBOARDINGS = 8


async def test_two_workers_together_send_no_faster_than_the_rate(live: LiveStack, tmp_path: Path) -> None:  # noqa: F811
    settings = dataclasses.replace(
        Settings.from_env(), database_url=f"sqlite:///{tmp_path / 'rate.db'}", outbox_dir=tmp_path / "outbox"
    )
    upgrade(settings.database_url)
    client, other = [await Client.connect(live.address, data_converter=pydantic_data_converter) for _ in range(2)]
    queue = f"rate-{uuid.uuid4().hex[:8]}"
    tuning = Tuning(emails_per_second=RATE)  # two worker processes, as in production: a client each
    first, second = build_worker(client, queue, tuning, settings), build_worker(other, queue, tuning, settings)
    base = json.loads((ROOT / "contracts" / "smb.json").read_text())
    handles = []
    async with first, second:
        began = time.monotonic()
        for n in range(ONBOARDINGS):
            contract = parse_contract(json.dumps(base | {"account_id": f"rate-{queue[5:]}-{n}"}))
            handles.append(await start(client, contract, task_queue=queue))
        with Session(engine(settings.database_url)) as db:
            query = select(OutboxEmail).where(OutboxEmail.template == "welcome", col(OutboxEmail.sent_at).is_not(None))
            while len(db.exec(query).all()) < ONBOARDINGS:
                assert time.monotonic() - began < 60, "the welcome emails were not all sent within a minute"
                await asyncio.sleep(0.2)
            sent = sorted(e.sent_at for e in db.exec(query).all() if e.sent_at)
        for handle in handles:
            await handle.terminate("test over")
    # Two workers at 4 a second each would send the 8 welcomes in about one second. Limited on
    # the queue, the 8 team assignments and the 8 welcomes share 4 a second: at least 2 s apart.
    assert (sent[-1] - sent[0]).total_seconds() >= (ONBOARDINGS - 1) / RATE * 0.8
