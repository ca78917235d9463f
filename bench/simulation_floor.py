"""Temporal alone doing a simulated journey's work, on the simulator's own time-skipping server.

bench.floor's workflow is given the shape counted from the engine's histories of the journey
(its messages, timers, activities and local activities, over all its runs) and runs on a
worker with the simulator's settings (no sandbox, four activity threads). Each message goes
once the run is idle, as the simulator sends an action; the remaining timers then fire as
virtual time skips ahead. Whatever the simulator takes beyond this is the engine's own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from bench.floor import FloorWorkflow, Shape, nothing
from simulator import history

IDLE_POLL = 0.005  # seconds between looks, as the simulator's


async def shape_of(client: Client, workflow_id: str) -> Shape:
    """What a finished simulation's workflow did, over every run it continued into."""
    described = await client.get_workflow_handle(workflow_id).describe()
    first_run = described.raw_description.workflow_execution_info.first_run_id
    runs = await history.runs(client, workflow_id, first_run)
    counts = Counter(event.event_type for run in runs for event in run)
    return Shape(
        messages=counts[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED]
        + counts[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED],
        timers=counts[EventType.EVENT_TYPE_TIMER_STARTED],
        activities=counts[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
        local_activities=counts[EventType.EVENT_TYPE_MARKER_RECORDED],
    )


async def floor_runs(client: Client, shape: Shape, repeats: int) -> list[float]:
    """Wall seconds of `repeats` floor runs of `shape`, one after another."""
    queue = f"simulation-floor-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[FloorWorkflow],
        activities=[nothing],
        activity_executor=ThreadPoolExecutor(4),
        max_concurrent_activities=4,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        return [await _one(client, shape, queue) for _ in range(repeats)]


async def _one(client: Client, shape: Shape, queue: str) -> float:
    began = time.monotonic()
    handle = await client.start_workflow(FloorWorkflow.run, shape, id=f"floor-{uuid.uuid4().hex}", task_queue=queue)
    assert handle.result_run_id, "a started workflow has a run id"
    watch = history.Watch(client, handle.id, handle.result_run_id)
    for n in range(shape.messages):
        while not await watch.idle():
            await asyncio.sleep(IDLE_POLL)
        await handle.signal(FloorWorkflow.poke, str(n))
    await handle.result()
    return round(time.monotonic() - began, 2)
