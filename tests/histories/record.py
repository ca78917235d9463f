"""Record workflow histories from real runs: `python -m tests.histories.record v3 [JOURNEY ...]`.

Run it when a workflow change is released; keep the old files too. tests/test_replay.py
replays every saved history against the current workflow code, so a change that would
break onboardings in flight fails CI instead of production (see README: "Changing the
workflow safely"). Every run of each onboarding is saved: the onboarding itself, the run it
continued as new into mid-onboarding (the chatty journey), and the check-in runs after it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from adapters.config import Settings
from adapters.db import upgrade
from connection import binary, register_search_attributes
from tests.conftest import Run, begin
from tests.journeys import chatty_product, enterprise_worst_case, mid_market_happy_path, smb_happy_path, smb_rollout
from worker import build_worker

HERE = Path(__file__).resolve().parent
JOURNEYS: dict[str, tuple[str, Callable[[WorkflowEnvironment, Run], Awaitable[None]]]] = {
    "smb_happy_path": ("smb", smb_happy_path),
    "mid_market_happy_path": ("mid_market", mid_market_happy_path),
    "enterprise_worst_case": ("enterprise", enterprise_worst_case),
    "smb_chatty_product": ("smb", chatty_product),
    "smb_rollout": ("smb", smb_rollout),
}


async def runs(run: Run) -> list[WorkflowHistory]:
    """Every run of the onboarding, first to last, following continue-as-new."""
    client, histories, run_id = run.handle._client, [], run.handle.result_run_id
    while run_id:
        history = await client.get_workflow_handle(run.handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
    return histories


async def record(tag: str, only: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(
            Settings.from_env(), database_url=f"sqlite:///{tmp}/onboarding.db", outbox_dir=Path(tmp) / "outbox"
        )
        upgrade(settings.database_url)
        for name, (segment, journey) in JOURNEYS.items():
            if only and name not in only:
                continue
            async with await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=binary("temporal-test-server"),
                data_converter=pydantic_data_converter,
            ) as env:
                await register_search_attributes(env.client)
                queue = f"record-{uuid.uuid4()}"
                async with build_worker(env.client, queue, settings=settings):
                    run = await begin(env, env.client, queue, settings, segment, account_id=f"history-{segment}")
                    await journey(env, run)
                    await run.settled()
                    for n, history in enumerate(await runs(run), start=1):
                        path = HERE / f"{tag}_{name}.run{n}.json"
                        path.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
                        print(f"{path.relative_to(HERE.parent.parent)}: {len(history.events)} events")
                    await run.latest.terminate("recorded")


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1] if len(sys.argv) > 1 else "v3", sys.argv[2:]))
