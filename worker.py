"""`python worker.py`: run the onboarding workflows and activities against the configured Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

import activities
from connection import connect
from onboarding.config import TASK_QUEUE, Settings
from onboarding.db import upgrade
from workflows.onboarding import OnboardingWorkflow


def build_worker(client: Client, task_queue: str = TASK_QUEUE, max_activities: int = 20) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OnboardingWorkflow],
        activities=activities.ALL,
        activity_executor=ThreadPoolExecutor(max_activities),
        max_concurrent_activities=max_activities,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    upgrade(Settings.from_env().database_url)
    client = await connect()
    logging.info("worker polling task queue %r", TASK_QUEUE)
    await build_worker(client).run()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
