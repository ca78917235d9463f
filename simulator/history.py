"""What the workflow's history says: whether it is idle, when its next timer fires, all its runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
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


async def pages(client: Client, workflow_id: str, run_id: str) -> AsyncIterator[Sequence[HistoryEvent]]:
    """One run's history as it stands, a page at a time, as the server sent it (events are
    made Python objects only when read: the simulator reads a growing history often)."""
    execution = WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
    request = GetWorkflowExecutionHistoryRequest(namespace=client.namespace, execution=execution)
    while True:
        page = await client.workflow_service.get_workflow_execution_history(request)
        yield page.history.events
        if not page.next_page_token:
            return
        request.next_page_token = page.next_page_token


async def runs(client: Client, workflow_id: str, first_run: str) -> list[list[HistoryEvent]]:
    """Every run's history, oldest first, following continue-as-new."""
    out: list[list[HistoryEvent]] = []
    run_id: str | None = first_run
    while run_id:
        events = [e async for page in pages(client, workflow_id, run_id) for e in page]
        out.append(events)
        last = events[-1] if events else None
        run_id = None
        if last and last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return out


class Watch:
    """One workflow's history as far as it has been read: whether it is idle, when its next timer fires.

    The simulator looks before every action and at every stop of the clock, and a journey's
    history runs to a thousand events: each look folds in only the events that are new since
    the last one, fetched in one call per page. It follows continue-as-new to the newest run.
    """

    def __init__(self, client: Client, workflow_id: str, run_id: str) -> None:
        self.client, self.workflow_id, self.run_id = client, workflow_id, run_id
        self._start_run()

    def _start_run(self) -> None:
        self.seen = 0  # events of this run folded in so far
        self.task_open = False
        self.activities: set[int] = set()  # scheduled event ids of the activities still open
        self.timers: dict[int, datetime] = {}  # started event id -> when it fires

    async def idle(self) -> bool:
        """No workflow task and no activity outstanding in the newest run (a closed run is idle too)."""
        while True:
            read, moved_on = 0, None
            async for page in pages(self.client, self.workflow_id, self.run_id):
                moved_on = self._fold(page[max(0, self.seen - read) :]) or moved_on
                read += len(page)
            self.seen = read
            if moved_on is None:
                return not (self.task_open or self.activities)
            self.run_id = moved_on
            self._start_run()

    def next_timer(self) -> datetime | None:
        """When the earliest timer still running fires, as of the last look."""
        return min(self.timers.values(), default=None)

    def _fold(self, events: Sequence[HistoryEvent]) -> str | None:
        """Take in new events; the next run's id if this run continued as new."""
        for event in events:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                raise WorkflowTaskFailed(event.workflow_task_failed_event_attributes.failure.message)
            if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                self.activities.add(event.event_id)
            elif kind in _ACTIVITY_CLOSED:
                self.activities.discard(getattr(event, _ACTIVITY_CLOSED[kind]).scheduled_event_id)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                self.task_open = True
            elif kind in _TASK_CLOSED:
                self.task_open = False
            elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
                fires = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
                self.timers[event.event_id] = event.event_time.ToDatetime(tzinfo=UTC) + fires
            elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
                self.timers.pop(event.timer_fired_event_attributes.started_event_id, None)
            elif kind == EventType.EVENT_TYPE_TIMER_CANCELED:
                self.timers.pop(event.timer_canceled_event_attributes.started_event_id, None)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                return event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        return None
