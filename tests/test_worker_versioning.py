"""Worker Versioning on the real dev server: builds of the deployment `onboarding`.

An onboarding started on build A keeps running on A after build B becomes current, while a
new one starts on B; the old one moves to B at its continue-as-new (its completion starts the
check-in run); both complete. And `python worker.py` against a fresh server makes its own
build current, so onboardings run with no other step.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

import deployment
from adapters.config import Settings
from onboarding.messages import ProductEvent
from service import send
from service.start import parse_contract, start
from tests.conftest import contract
from tests.test_scale_out import dev_server_running
from worker import build_worker

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "versioned"


async def eventually(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20, every: float = 0.1) -> None:
    """Poll `check`; the deployment's own calls are rate-limited, so those are polled slower."""
    for _ in range(int(seconds / every)):
        if await check():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"never: {what}")


async def build_of(handle: WorkflowHandle[Any, Any]) -> str:
    """The build the onboarding's current run is pinned to."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    return str(info.deployment_version.build_id)


async def builds_that_ran(client: Client, workflow_id: str, run_id: str) -> set[str]:
    """Every build that completed a workflow task of one run."""
    events = (await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()).events
    return {
        e.workflow_task_completed_event_attributes.deployment_version.build_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }


async def onboard(client: Client, account: str) -> WorkflowHandle[Any, Any]:
    handle = await start(client, parse_contract(json.dumps(contract("smb", account_id=account))), task_queue=QUEUE)
    await eventually(lambda: _answers(handle), f"{account} answers")
    return handle


async def _answers(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        await handle.query(send.STATUS_QUERY)
    except Exception:
        return False
    return True


async def succeed(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)
    await send.signal(handle, ProductEvent(name="first_login", id="login"))
    await send.signal(handle, ProductEvent(name="survey_answer", id="survey", goal_reached=True, csat=5, ces=2))

    async def completed() -> bool:
        return (await client.get_workflow_handle(workflow_id).query(send.STATUS_QUERY))["state"] == "completed"

    await eventually(completed, f"{workflow_id} completes")


async def test_a_run_stays_on_its_build_and_moves_at_its_continue_as_new(tmp_path: Path, settings: Settings) -> None:
    with dev_server_running(tmp_path) as address:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        async with build_worker(client, QUEUE, settings=settings, version=deployment.version("build-a")):
            assert await deployment.make_current_if_none(client, "build-a")
            old = await onboard(client, "acme-old")
            assert await build_of(old) == "build-a"
            async with build_worker(client, QUEUE, settings=settings, version=deployment.version("build-b")):
                await deployment.wait_and_set(client, "build-b")
                assert await deployment.current(client) == "build-b"
                assert not await deployment.make_current_if_none(client, "build-a")  # B stays current
                new = await onboard(client, "acme-new")
                assert await build_of(new) == "build-b"

                await send.signal(old, ProductEvent(name="key_action", id="k1", action="booking_page_published"))
                await eventually(lambda: _answers(old), "the old run answers")
                assert await build_of(old) == "build-a"  # pinned: B being current does not move it

                await succeed(client, old.id)  # completion continues as new into the check-in run
                await succeed(client, new.id)
                first_run = old.result_run_id
                assert first_run is not None
                assert await builds_that_ran(client, old.id, first_run) == {"build-a"}
                moved = client.get_workflow_handle(old.id)

                async def continued() -> bool:
                    return (await moved.describe()).run_id != first_run

                await eventually(continued, "the completed onboarding continues as new into its check-in run")
                assert await builds_that_ran(client, old.id, (await moved.describe()).run_id) == {"build-b"}

                async def on_b() -> bool:  # the transition settles once its first task on B is done
                    return await build_of(moved) == "build-b"

                await eventually(on_b, "the check-in run is pinned to build B", every=0.5)


def test_python_worker_py_on_a_fresh_server_makes_its_build_current(tmp_path: Path) -> None:
    with dev_server_running(tmp_path) as address:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "WORKER_BUILD_ID": "fresh-1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'engine.db'}",
            "OUTBOX_DIR": str(tmp_path / "outbox"),
        }
        log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stderr=log, text=True)
        try:

            async def check() -> None:
                client = await Client.connect(address, data_converter=pydantic_data_converter)

                async def is_current() -> bool:
                    return await deployment.current(client) == "fresh-1"

                await eventually(is_current, "worker.py makes its build current", 30, every=1)
                handle = await start(client, parse_contract(json.dumps(contract("smb", account_id="fresh"))))
                await eventually(lambda: _answers(handle), "the onboarding runs", 30)
                assert await build_of(handle) == "fresh-1"

            asyncio.run(check())
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.close()
        assert "made this build (fresh-1) current" in (tmp_path / "worker.log").read_text()
