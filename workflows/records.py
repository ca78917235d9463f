"""The records lane's activity: timeline rows and human-task changes, written in one go.

Everything queued on the lane goes in one local activity (one marker event in the history).
Runs that started before that wrote timeline rows in a batch and each task change in an
activity of its own; they keep doing so (`one_batch` is their patch), so their histories replay.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.records import Records
    from onboarding.effects import (
        CancelRequest,
        ClaimRequest,
        Effect,
        EscalationRepeat,
        EscalationRequest,
        RecordBatch,
        ResolveRequest,
        TimelineEntry,
    )

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
WAIT_FOR_STAFF = RetryPolicy(initial_interval=timedelta(minutes=1), maximum_interval=timedelta(hours=1))
ONE_AT_A_TIME: dict[type, tuple[Callable[[Records, Any], None], str]] = {
    EscalationRequest: (Records.open_escalation, "Open a human task"),
    EscalationRepeat: (Records.repeat_escalation, "Count a repeat on an open human task"),
    ResolveRequest: (Records.resolve_escalation, "Close a human task"),
    ClaimRequest: (Records.claim_escalation, "Give a human task to its new assignee"),
    CancelRequest: (Records.cancel_onboarding, "Close what the cancelled onboarding left open"),
}


async def record(effects: list[Effect], one_batch: bool) -> None:
    """Write what the lane took: the whole batch, or (older runs) rows together, a task change alone."""
    if one_batch:
        batch = RecordBatch(
            timeline=[e for e in effects if isinstance(e, TimelineEntry)],
            opened=[e for e in effects if isinstance(e, EscalationRequest)],
            repeats=[e for e in effects if isinstance(e, EscalationRepeat)],
            claims=[e for e in effects if isinstance(e, ClaimRequest)],
            resolved=[e for e in effects if isinstance(e, ResolveRequest)],
            cancels=[e for e in effects if isinstance(e, CancelRequest)],
        )
        summary = f"Record {len(effects)} changes"
        await workflow.execute_local_activity_method(
            Records.record, batch, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, summary=summary
        )
        return
    first = effects[0]
    if isinstance(first, TimelineEntry):
        rows = [e for e in effects if isinstance(e, TimelineEntry)]
        await workflow.execute_local_activity_method(
            Records.record_timeline,
            rows,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=f"Record {len(rows)} timeline entries",
        )
        return
    method, summary = ONE_AT_A_TIME[type(first)]
    await workflow.execute_activity_method(
        method, first, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY, summary=summary
    )
