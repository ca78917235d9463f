"""`python -m bench.floor_worker`: the floor's worker, tuned by the same WORKER_* variables as worker.py."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.worker import Worker

from bench.floor import QUEUE, FloorWorkflow, nothing
from connection import connect
from tuning import Tuning
from worker import configure_logging, install_runtime

log = logging.getLogger("bench.floor")


async def serve(tuning: Tuning) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    install_runtime(tuning.metrics_port)
    client = await connect()
    async with Worker(
        client,
        task_queue=QUEUE,
        workflows=[FloorWorkflow],
        activities=[nothing],
        activity_executor=ThreadPoolExecutor(tuning.max_concurrent_activities),
        max_concurrent_activities=tuning.max_concurrent_activities,
        max_concurrent_workflow_tasks=tuning.max_concurrent_workflow_tasks,
        max_cached_workflows=tuning.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=tuning.sticky_queue_timeout,
    ):
        log.info("worker polling task queue %r", QUEUE)
        await stop.wait()


def main() -> None:
    tuning = Tuning.from_env()
    configure_logging(tuning.log_level)
    asyncio.run(serve(tuning))


if __name__ == "__main__":
    main()
