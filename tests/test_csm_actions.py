"""CSM actions and product events, on any segment: what a CSM sees when they act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import starter
from onboarding.models import (
    Cancel,
    Invite,
    KickoffDone,
    ModuleCompleted,
    Pause,
    Resume,
    StepAction,
    SuccessCriteriaMet,
)
from tests.conftest import Run
from workflows.onboarding import OnboardingWorkflow as W


async def rejected(run: Run, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await run.act(update, action)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause.message


async def history_without_task_bookkeeping(run: Run) -> list[int]:
    bookkeeping = {
        ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    return [e.event_type async for e in run.latest.fetch_history_events() if e.event_type not in bookkeeping]


async def test_events_that_arrive_early_are_not_lost(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("mid_market")
    await env.sleep(timedelta(hours=6))
    # Integration connected and users invited before the kickoff even happened.
    await run.event("integration_connected")
    await run.event("teammate_invited")
    await run.act(W.skip_step, StepAction(step="questionnaire"))
    await run.act(W.skip_step, StepAction(step="data_export"))
    await run.act(W.kickoff_done, KickoffDone(notes="Goals agreed; Raj owns SSO"))
    status = await run.status()
    assert status.phase == "implementation"
    assert "connect_integration" in status.steps_done and "invite_users" in status.steps_done
    # Implementation waits only for what is still open; the early integration counted.
    await run.act(W.complete_step, StepAction(step="configure"))
    await run.act(W.skip_step, StepAction(step="sso"))
    await run.act(W.skip_step, StepAction(step="billing_setup"))
    assert (await run.status()).phase == "training"


async def test_a_skipped_step_can_be_done_later(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("mid_market")
    await env.sleep(timedelta(seconds=1))
    status = await run.act(W.skip_step, StepAction(step="questionnaire", by="csm-dmitri"))
    assert status.steps_skipped == ["questionnaire"]
    await env.sleep(timedelta(days=2))
    status = await run.act(W.complete_step, StepAction(step="questionnaire", by="csm-dmitri"))
    assert "questionnaire" in status.steps_done and status.steps_skipped == []
    await env.sleep(timedelta(minutes=1))
    assert [(h.kind, h.name) for h in run.timeline("action")] == [
        ("action", "skip_step"),
        ("action", "complete_step"),
    ]


async def test_invite_sends_a_contextual_invitation_to_the_colleague(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("mid_market")
    await run.act(W.invite, Invite(step="sso", name="Ana Souza", email="Ana@Northwind.example", role="it_admin"))
    await env.sleep(timedelta(minutes=1))
    invitation = [m for m in run.outbox() if m.template == "colleague_invitation"]
    assert len(invitation) == 1
    mail = invitation[0]
    assert mail.to_email == "ana@northwind.example" and mail.to_role == "colleague"
    assert "Maya Chen" in mail.subject and "Set up single sign-on" in mail.subject
    assert "Set up single sign-on" in mail.text and "it admin" in mail.text


async def test_wrong_actions_are_refused_with_the_reason_and_leave_no_trace(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await run.settled()
    before = await history_without_task_bookkeeping(run)

    assert await rejected(run, W.module_completed, ModuleCompleted(module="advanced_reporting")) == (
        "unknown module 'advanced_reporting'; this playbook's modules: quick_start, feature_highlights"
    )
    assert await rejected(run, W.skip_step, StepAction(step="log_in")) == "step 'log_in' cannot be skipped"
    assert await rejected(run, W.skip_step, StepAction(step="no_such_step")) == (
        "unknown step 'no_such_step'; this playbook's steps: log_in, invite_team, connect_integration, quick_start"
    )
    assert await rejected(run, W.resume, Resume()) == "the onboarding is not paused"
    past = Pause(reason="Budget freeze", until=run.signed_at)
    assert await rejected(run, W.pause, past) == "until: expected a time in the future"

    # The test server runs each refused update through a workflow task (the real server does not:
    # tests/test_e2e.py checks the history there is untouched); nothing else may appear.
    assert await history_without_task_bookkeeping(run) == before
    assert run.timeline("action") == []


async def test_actions_on_a_finished_onboarding_are_refused(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("enterprise")
    await run.act(W.success_criteria_met, SuccessCriteriaMet(evidence="3 dashboards used weekly by the pilot plant"))
    await run.settled()  # the run celebrates, hands over and continues as new into its check-ins
    message = await rejected(run, W.kickoff_done, KickoffDone())
    assert message.startswith("the onboarding is already complete")
    await run.act(W.cancel, Cancel(reason="churned", note="Acquired by a competitor"))
    final = await run.latest.result()
    assert final.state == "cancelled"
    with pytest.raises(RPCError):  # the run has closed: the server itself refuses a second cancel
        await run.act(W.cancel, Cancel(reason="duplicate"))
    assert [h.name for h in run.timeline("cancelled")] == ["churned"]


async def test_a_second_start_for_the_same_account_is_refused(env: WorkflowEnvironment, onboard, task_queue) -> None:
    run = await onboard("smb")
    with pytest.raises(starter.AlreadyOnboarding, match=run.handle.id):
        await starter.start(env.client, run.contract, task_queue=task_queue)
    await env.sleep(timedelta(minutes=1))
    assert [m.template for m in run.outbox()].count("welcome") == 1


async def test_repeated_event_delivery_is_applied_once(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    for _ in range(3):
        await run.event("support_ticket", id="zendesk-4711")
    await env.sleep(timedelta(minutes=1))
    assert [h.name for h in run.timeline("event")] == ["support_ticket"]


async def test_rising_support_load_escalates_to_a_person(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    for n in range(3):
        await run.event("support_ticket", id=f"ticket-{n}")
        await env.sleep(timedelta(days=1))
    status = await run.status()
    assert [e.reason for e in status.open_escalations if e.id.startswith("red_flag")] == [
        "Rising support load during onboarding",
    ]
