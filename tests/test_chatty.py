"""A chatty product: thousands of events over a 120-day enterprise onboarding, none lost, history bounded.

On the old main each product event cost about 7 history events and the run never continued
as new: Temporal terminated it at 51,200 events (after 6,855 key actions). Now the run
continues as new past HISTORY_LIMIT events (or when the server suggests it), carrying its
state, so every run's history stays small however chatty the product is.

Events go in concurrent batches (100 signals at once), with virtual time advancing between
batches so that they spread over the whole 120 days.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, func, select
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from adapters.db import TimelineEvent, engine
from tests.conftest import Run

DAYS = 120
BATCH = 100
LIMIT = 5_000  # "well under": a run continues as new at 400 events (2,000 before); Temporal warns at 10,240


@dataclass(frozen=True)
class RunSize:
    run_id: str
    events: int
    bytes: int
    task_failures: int


async def runs(run: Run) -> list[RunSize]:
    """Every run of the onboarding, first to latest, following continue-as-new, with its history's size."""
    client = run.handle._client
    run_id = run.handle.first_execution_run_id or run.handle.result_run_id
    sizes = []
    while run_id:
        history = await client.get_workflow_handle(run.handle.id, run_id=run_id).fetch_history()
        events = history.events
        failures = sum(e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in events)
        sizes.append(RunSize(run_id, len(events), sum(e.ByteSize() for e in events), failures))
        last = events[-1]
        continued = last.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id if continued else None
    return sizes


def key_action_rows(run: Run) -> int:
    with Session(engine(run.settings.database_url)) as db:
        return db.exec(
            select(func.count())
            .select_from(TimelineEvent)
            .where(
                col(TimelineEvent.account_id) == run.contract.account_id,
                col(TimelineEvent.kind) == "event",
                col(TimelineEvent.name) == "key_action",
            )
        ).one()


async def chatty(env: WorkflowEnvironment, onboard, total: int) -> None:  # type: ignore[no-untyped-def]
    began = time.monotonic()
    run: Run = await onboard("enterprise")
    await run.settled()
    batches = total // BATCH
    gap = timedelta(days=DAYS) / batches
    for b in range(batches):
        await asyncio.gather(
            *(run.event("key_action", id=f"ka-{b * BATCH + i}", action="dashboard_viewed") for i in range(BATCH))
        )
        await env.sleep(gap)
    await run.settled()

    described = await run.latest.describe()
    assert described.status == WorkflowExecutionStatus.RUNNING  # never terminated, still onboarding or checking in
    sizes = await runs(run)
    largest = max(sizes, key=lambda s: s.events)
    print(
        f"\n{total} key_action events over {DAYS} days: {len(sizes)} runs; largest run {largest.events} history events,"
        f" {largest.bytes:,} bytes; total {sum(s.events for s in sizes)} events;"
        f" workflow task failures {sum(s.task_failures for s in sizes)}; wall time {time.monotonic() - began:.0f} s"
    )
    assert largest.events < LIMIT
    assert key_action_rows(run) == total  # no event lost, none recorded twice
    status = await run.status()  # the onboarding still answers
    assert status.segment == "enterprise"


async def test_ten_thousand_product_events_over_an_enterprise_onboarding(env: WorkflowEnvironment, onboard) -> None:
    """About 25 s of wall time here (6 runs, the largest about 2,070 events and 460 kB): not marked slow."""
    await chatty(env, onboard, 10_000)
