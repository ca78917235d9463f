"""Racing messages in one workflow task, and messages in flight when a run ends or continues as new.

A double click, a cancel crossing a success, two CSMs resolving the same escalation: such
updates can reach the workflow in ONE workflow task. Each must end in one consistent state:
the first applies, the second is applied too or refused with its reason, and no workflow
task fails (on today's main the second `resume` asserted, and the task failed on every retry).

To put several updates in one task, a test stops the worker, sends them (they wait on the
server, in order), and starts a new worker on the same queue: its first workflow task carries
them all. `Bench.race` checks that this happened: a worker interceptor notes, for each update
validated, the workflow task it came in, and all of them must share one task, in the order
sent. (The Python SDK runs each update's validator and then its handler before the next
update's validator; the handler applies at once, so the second validator already sees the
first applied and refuses it, which leaves no history event; that is why the interceptor is
needed to see it. An action whose handler awaits, `reassign`, lets the next one validate first.)
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import pytest_asyncio
from temporalio import workflow
from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.runtime import Runtime
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    Worker,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

import activities
from adapters.config import Settings
from onboarding.messages import (
    Action,
    Cancel,
    CompleteStep,
    KickoffDone,
    Pause,
    ProductEvent,
    Reassign,
    ResolveEscalation,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
)
from onboarding.models import Status
from service import send
from tests.conftest import Run, begin
from tuning import Tuning
from worker import EngineInterceptor
from workflows.onboarding import OnboardingWorkflow

SMB_CSMS = {"csm-leo", "csm-siti"}  # staff.yaml: the CSMs who serve smb


# ---- the bench: a worker the test stops and starts ---------------------------------------


def validations_seen(seen: list[tuple[str, int]]) -> type[Interceptor]:
    """A worker interceptor noting, for every update validated live (not in replay), its id and the
    workflow task it came in (the history length there: the task's WORKFLOW_TASK_STARTED event id).
    A validator that refuses leaves no event in the history, so this is how a test sees it."""

    class Inbound(WorkflowInboundInterceptor):
        def handle_update_validator(self, input: HandleUpdateInput) -> None:
            if not workflow.unsafe.is_replaying():
                seen.append((input.id, workflow.info().get_current_history_length()))
            super().handle_update_validator(input)

    class SeeValidations(Interceptor):
        def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[Inbound]:
            return Inbound

    return SeeValidations


@dataclass
class Bench:
    """One task queue whose worker the test controls; onboardings started on it end with the test."""

    env: WorkflowEnvironment
    settings: Settings
    queue: str = field(default_factory=lambda: f"race-{uuid.uuid4()}")
    runs: list[Run] = field(default_factory=list)
    stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)
    validated: list[tuple[str, int]] = field(default_factory=list)

    def worker(self, cached: bool = False) -> Worker:
        """The engine's worker, as build_worker makes it, that also sees validations.

        Stopped before a race, it keeps no cache, so it has no sticky queue: a task for a stopped
        worker's sticky queue would wait out a schedule-to-start timeout that the test server counts
        in (locked) virtual time. The worker after a race keeps its cache, as in production: the test
        server hands an update to the workflow before a signal that came earlier in the same task,
        while a replay (and the real server: checked on the dev server) applies the signal first;
        without a cache every later task would replay and fail on that test-server quirk.
        """
        tuning = Tuning() if cached else Tuning(max_cached_workflows=0)
        runtime = self.env.client.service_client.config.runtime or Runtime.default()
        return Worker(
            self.env.client,
            task_queue=self.queue,
            workflows=[OnboardingWorkflow],
            activities=activities.for_worker(self.settings),
            activity_executor=ThreadPoolExecutor(tuning.max_concurrent_activities),
            max_cached_workflows=tuning.max_cached_workflows,
            interceptors=[
                EngineInterceptor(runtime.metric_meter),
                validations_seen(self.validated)(),
            ],
        )

    async def start(self, segment: str, **changes: object) -> Run:
        """Start an onboarding (a worker must be running) and let it settle."""
        changes.setdefault("account_id", f"acct-{uuid.uuid4().hex[:10]}")
        run = await begin(self.env, self.env.client, self.queue, self.settings, segment, **changes)
        self.runs.append(run)
        await run.settled()
        return run

    async def race(
        self, run: Run, *actions: Action, events: tuple[ProductEvent, ...] = ()
    ) -> list[Status | BaseException]:
        """With the worker stopped: send every action (and signal), in this order, then start a worker.

        Its first workflow task carries them all, which is checked: every action's validator ran
        in one workflow task, in the order sent. The worker keeps running for the rest of the
        test. Returns each action's answer: its Status or its error.
        """
        assert all(a.id for a in actions), "race actions need ids, to be found again"
        handle = run.latest
        calls = []
        for action in actions:
            calls.append(asyncio.create_task(send.act(handle, action)))
            await asyncio.sleep(0.2)  # in this order on the server
        for event in events:
            await send.signal(handle, event)
        await asyncio.sleep(0.2)
        self.validated.clear()
        await self.stack.enter_async_context(self.worker(cached=True))
        answers = await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), timeout=60)
        await run.settled()
        sent = list(dict.fromkeys(a.id for a in actions))  # an id sent twice is one update
        assert [i for i, _ in self.validated] == sent, self.validated
        assert len({task for _, task in self.validated}) == 1, f"validated in several tasks: {self.validated}"
        return list(answers)

    async def close(self) -> None:
        for run in self.runs:
            with contextlib.suppress(RPCError):
                await run.latest.terminate("test over")
        await self.stack.aclose()


@pytest_asyncio.fixture
async def bench(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Bench]:
    b = Bench(env, settings)
    try:
        yield b
    finally:
        await b.close()


# ---- what the history shows --------------------------------------------------------------


async def history(run: Run, run_id: str | None = None) -> list[HistoryEvent]:
    handle = run.handle._client.get_workflow_handle(run.handle.id, run_id=run_id)
    return [e async for e in handle.fetch_history_events()]


async def no_task_failed(run: Run, run_id: str | None = None) -> list[HistoryEvent]:
    """The run's history, checked: no workflow task failed (a jammed run fails its task on every retry)."""
    events = await history(run, run_id)
    failed = [e for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, [e.workflow_task_failed_event_attributes.failure.message for e in failed]
    return events


def accepted(events: list[HistoryEvent]) -> list[str]:
    """Update ids the workflow accepted (passed the validator), in order; refused ones leave no event."""
    return [
        e.workflow_execution_update_accepted_event_attributes.protocol_instance_id
        for e in events
        if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def ended(run: Run) -> Status:
    """The run's final status, once it has ended (waiting at most 30 s)."""
    handle = run.handle._client.get_workflow_handle(run.handle.id, result_type=Status)
    return await asyncio.wait_for(handle.result(), timeout=30)


def refusal(answer: Status | BaseException) -> str:
    assert isinstance(answer, WorkflowUpdateFailedError), answer
    assert isinstance(answer.cause, ApplicationError), answer.cause
    return answer.cause.message


def ok(answer: Status | BaseException) -> Status:
    assert isinstance(answer, Status), answer
    return answer


# ---- two identical actions ---------------------------------------------------------------


async def paused(bench: Bench) -> Run:
    async with bench.worker():
        run = await bench.start("smb")
        await run.act(Pause(reason="Fiscal year-end freeze", id="pause-1"))
        await run.settled()
    return run


async def test_two_resumes_with_different_ids_one_applies_the_other_is_refused(bench: Bench) -> None:
    run = await paused(bench)
    first, second = await bench.race(run, Resume(id="resume-a"), Resume(id="resume-b"))

    events = await no_task_failed(run)
    assert ok(first).state == "active"
    assert refusal(second) == "the onboarding is not paused"
    assert accepted(events)[-1:] == ["resume-a"]  # the refused one left no trace
    assert (await run.status()).state == "active"
    assert [h.name for h in run.timeline("resumed")] == ["resumed"]


async def test_two_resumes_with_the_same_id_apply_once_and_both_are_answered(bench: Bench) -> None:
    run = await paused(bench)
    first, second = await bench.race(run, Resume(id="resume-1"), Resume(id="resume-1"))

    events = await no_task_failed(run)
    assert ok(first).state == ok(second).state == "active"
    assert accepted(events).count("resume-1") == 1
    assert [h.name for h in run.timeline("resumed")] == ["resumed"]
    assert [h.name for h in run.timeline("action")] == ["pause", "resume"]


async def test_two_kickoffs_record_one_kickoff(bench: Bench) -> None:
    async with bench.worker():
        run = await bench.start("mid_market")
    first, second = await bench.race(
        run, KickoffDone(id="kickoff-a", notes="Goals agreed"), KickoffDone(id="kickoff-b")
    )

    await no_task_failed(run)
    assert "kickoff" in ok(first).steps_done
    assert refusal(second).startswith("kickoff is already recorded as done")
    assert [h.name for h in run.timeline("action")] == ["kickoff_done"]


async def test_two_resolutions_of_one_escalation_close_it_once(env: WorkflowEnvironment, bench: Bench) -> None:
    async with bench.worker():
        run = await bench.start("smb")
        await env.sleep(timedelta(days=2, hours=1))  # no personal welcome within 48 h: escalated
        await run.settled()
        [escalation] = (await run.status()).open_escalations
    first, second = await bench.race(
        run,
        ResolveEscalation(id="resolve-a", escalation=escalation.id, note="Called Priya", by="csm-leo"),
        ResolveEscalation(id="resolve-b", escalation=escalation.id, note="Emailed Priya", by="mgr-elena"),
    )

    await no_task_failed(run)
    assert ok(first).open_escalations == []
    assert refusal(second) == f"no open escalation {escalation.id!r}; open: none"
    [task] = run.tasks()
    assert (task.status, task.resolution) == ("resolved", "Called Priya")
    assert [h.name for h in run.timeline("action")] == ["resolve_escalation"]


async def test_two_skips_of_one_step_skip_it_once(bench: Bench) -> None:
    async with bench.worker():
        run = await bench.start("mid_market")
    first, second = await bench.race(
        run, SkipStep(id="skip-a", step="questionnaire"), SkipStep(id="skip-b", step="questionnaire")
    )

    await no_task_failed(run)
    assert ok(first).steps_skipped == ["questionnaire"]
    assert refusal(second) == "step 'questionnaire' is already skipped; it can still be done later"
    assert (await run.status()).steps_skipped == ["questionnaire"]
    assert [h.name for h in run.timeline("action")] == ["skip_step"]


# ---- a cancel racing the end -------------------------------------------------------------


@pytest.mark.parametrize("success", ["success_criteria_met", "survey_answer"])
async def test_a_cancel_first_is_not_undone_by_a_success_in_the_same_task(bench: Bench, success: str) -> None:
    async with bench.worker():
        run = await bench.start("smb")
    cancel = Cancel(id="cancel-1", reason="duplicate", note="Signed twice in the CRM")
    if success == "success_criteria_met":
        answers = await bench.race(run, cancel, SuccessCriteriaMet(id="success-1", evidence="25 bookings online"))
        assert refusal(answers[1]) == "the onboarding is cancelled"
    else:  # the customer's own survey says the goal is reached: a fact, recorded, that completes nothing
        survey = ProductEvent(name="survey_answer", id="survey-1", goal_reached=True, csat=5, ces=2)
        answers = await bench.race(run, cancel, events=(survey,))
    assert ok(answers[0]).state == "cancelled"

    final = await ended(run)  # the run ends
    assert final.state == "cancelled"
    await no_task_failed(run)
    assert [h.name for h in run.timeline("cancelled")] == ["duplicate"]
    sent = [m.template for m in run.outbox() if m.status == "sent"]
    assert sent == ["welcome"]  # no completion email, no hand-over, no check-in
    if success == "success_criteria_met":
        assert final.completed_at is None and run.timeline("completed") == []
    # (A survey signal that reached the server before the cancel is a fact of that task: a replay,
    # and the real server, apply it first; it may complete the onboarding an instant before the
    # cancel ends it. What the customer and the CSM see is the same: cancelled, nothing sent.)


@pytest.mark.parametrize("pause_first", [True, False])
async def test_pause_and_cancel_in_one_task_end_cancelled(bench: Bench, pause_first: bool) -> None:
    async with bench.worker():
        run = await bench.start("smb")
    pause, cancel = Pause(id="pause-1", reason="Legal review"), Cancel(id="cancel-1", reason="lost")
    if pause_first:
        first, second = await bench.race(run, pause, cancel)
        assert ok(first).state == "paused" and ok(second).state == "cancelled"
        assert [h.name for h in run.timeline("action")] == ["pause", "cancel"]
    else:
        first, second = await bench.race(run, cancel, pause)
        assert ok(first).state == "cancelled"
        assert refusal(second) == "the onboarding is cancelled"
        assert [h.name for h in run.timeline("action")] == ["cancel"]

    final = await ended(run)
    assert final.state == "cancelled"
    await no_task_failed(run)


@pytest.mark.parametrize("skip_first", [True, False])
async def test_skip_and_complete_of_one_step_in_one_task_end_done(bench: Bench, skip_first: bool) -> None:
    async with bench.worker():
        run = await bench.start("mid_market")
    skip, complete = SkipStep(id="skip-1", step="questionnaire"), CompleteStep(id="complete-1", step="questionnaire")
    if skip_first:
        first, second = await bench.race(run, skip, complete)
        assert ok(first).steps_skipped == ["questionnaire"]
        assert "questionnaire" in ok(second).steps_done
        assert [h.name for h in run.timeline("action")] == ["skip_step", "complete_step"]
    else:
        first, second = await bench.race(run, complete, skip)
        assert "questionnaire" in ok(first).steps_done
        assert refusal(second) == "step 'questionnaire' is already done"
        assert [h.name for h in run.timeline("action")] == ["complete_step"]

    await no_task_failed(run)
    status = await run.status()
    assert "questionnaire" in status.steps_done and status.steps_skipped == []


# ---- in flight when the run ends ---------------------------------------------------------


async def run_ids(run: Run) -> list[str]:
    """Every run of the onboarding, first to latest, following continue-as-new."""
    ids = [run.handle.first_execution_run_id or run.handle.result_run_id or ""]
    while True:
        events = await history(run, ids[-1])
        last = events[-1]
        if last.event_type != ET.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return ids
        ids.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


async def fired(run: Run) -> None:
    """Wait (real time, briefly) until a timer of the current run has fired."""
    for _ in range(200):
        if ET.EVENT_TYPE_TIMER_FIRED in [e.event_type async for e in run.latest.fetch_history_events()]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no timer fired within 10 s")


async def test_a_reassign_in_flight_at_completion_completes_with_its_result(bench: Bench) -> None:
    async with bench.worker():
        run = await bench.start("smb")
        before = await run.status()
    new_owner = next(iter(SMB_CSMS - {before.owner}))
    events = (
        ProductEvent(name="key_action", id="evt-1", action="booking_page_published"),
        ProductEvent(name="teammate_invited", id="evt-2"),
    )
    success, reassign = await bench.race(
        run,
        SuccessCriteriaMet(id="success-1", evidence="Booking page live, 25 bookings"),
        Reassign(id="reassign-1", owner=new_owner, by="mgr-elena"),  # its roster lookup runs as the run completes
        events=events,
    )

    assert ok(success).state == "completed"
    assert ok(reassign).owner == new_owner
    ids = await run_ids(run)
    assert len(ids) == 2  # completed, continued as new into the check-ins
    await no_task_failed(run, ids[0])
    status = await run.status()
    assert (status.state, status.owner) == ("completed", new_owner)
    await run.settled()
    assert [h.name for h in run.timeline("action")] == ["success_criteria_met", "reassign"]
    assert [h.name for h in run.timeline("event")] == ["key_action", "teammate_invited"]  # the signals are not lost


async def test_a_reassign_in_flight_at_a_check_in_continue_as_new_completes_with_its_result(
    env: WorkflowEnvironment, bench: Bench
) -> None:
    async with bench.worker():
        run = await bench.start("smb")
        await run.act(SuccessCriteriaMet(id="success-1", evidence="Booking page live"))
        await run.settled()  # completed: the check-in run waits a week for the first check-in
        before = await run.status()
        await env.sleep(timedelta(days=7) - timedelta(minutes=5))
        await run.settled()
    # The check-in timer fires with no worker to take its task (the test server then holds its clock
    # until a worker completes the task, so this sleep ends only after the race).
    sleeping = asyncio.create_task(env.sleep(timedelta(minutes=10)))
    await fired(run)
    new_owner = next(iter(SMB_CSMS - {before.owner}))
    [reassign] = await bench.race(
        run,
        Reassign(id="reassign-1", owner=new_owner),  # in the same task as the check-in, which continues as new
        events=(ProductEvent(name="email_engaged", id="evt-1"),),
    )

    await sleeping
    assert ok(reassign).owner == new_owner
    ids = await run_ids(run)
    assert len(ids) == 3  # onboarding, first check-in run, second check-in run
    for run_id in ids:
        await no_task_failed(run, run_id)
    assert (await run.status()).owner == new_owner
    await run.settled()
    assert [h.name for h in run.timeline("action")] == ["success_criteria_met", "reassign"]
    assert [h.name for h in run.timeline("event")] == ["email_engaged"]
    assert [m.template for m in run.outbox()].count("check_in") == 1


# ---- a redelivered message across continue-as-new ----------------------------------------


async def test_a_redelivered_event_across_continue_as_new_is_applied_once(bench: Bench) -> None:
    async with bench.worker():
        run = await bench.start("smb")
        await run.event("key_action", id="product-evt-42", action="booking_page_published")
        await run.settled()
        await run.act(SuccessCriteriaMet(id="success-1", evidence="Booking page live"))
        await run.settled()
        assert len(await run_ids(run)) == 2  # continued as new into the check-ins, carrying what it saw

        await run.event("key_action", id="product-evt-42", action="booking_page_published")  # redelivered
        await run.event("key_action", id="product-evt-43", action="booking_page_published")
        await run.settled()
    assert [h.name for h in run.timeline("event")] == ["key_action", "key_action"]  # 42 once, 43 once
