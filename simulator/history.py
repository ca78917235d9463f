"""What the workflow's history says: whether it is idle, when its next timer fires, all its runs."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}
_TASK_CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
}


class WorkflowTaskFailed(RuntimeError):
    """The workflow code raised while running the playbook: a bug, not a customer's doing."""


async def runs(client: Client, workflow_id: str, first_run: str) -> list[list[HistoryEvent]]:
    """Every run's history, oldest first, following continue-as-new."""
    out: list[list[HistoryEvent]] = []
    run_id: str | None = first_run
    while run_id:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        events = [e async for e in handle.fetch_history_events()]
        out.append(events)
        last = events[-1] if events else None
        run_id = None
        if last and last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return out


def idle(events: list[HistoryEvent]) -> bool:
    """No workflow task and no activity outstanding (a closed run is idle too)."""
    open_activities: set[int] = set()
    task_open = False
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = event.workflow_task_failed_event_attributes.failure.message
            raise WorkflowTaskFailed(cause)
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            open_activities.add(event.event_id)
        elif kind in _ACTIVITY_CLOSED:
            open_activities.discard(getattr(event, _ACTIVITY_CLOSED[kind]).scheduled_event_id)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            task_open = True
        elif kind in _TASK_CLOSED:
            task_open = False
    return not (task_open or open_activities)


def next_timer(events: list[HistoryEvent]) -> datetime | None:
    """When the earliest timer still running in this history fires."""
    running: dict[int, datetime] = {}
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_TIMER_STARTED:
            fires = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            running[event.event_id] = event.event_time.ToDatetime(tzinfo=UTC) + fires
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            running.pop(event.timer_fired_event_attributes.started_event_id, None)
        elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
            running.pop(event.timer_canceled_event_attributes.started_event_id, None)
    return min(running.values(), default=None)
