"""CSM actions and product events, on any segment: what a CSM sees when they act."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import starter
from onboarding.messages import (
    Action,
    Cancel,
    CompleteStep,
    Invite,
    KickoffDone,
    ModuleCompleted,
    Pause,
    Reassign,
    ResolveEscalation,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
    kind_of,
)
from tests.conftest import Run
from workflows import attributes


async def rejected(run: Run, action: Action) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await run.act(action)
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


async def test_smb_key_action_during_setup_counts_in_adoption(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await env.sleep(timedelta(hours=6))
    await run.event("key_action", action="booking_page_published")  # adoption's exit, weeks early
    await run.event("first_login")
    await run.act(ModuleCompleted(module="quick_start"))
    assert (await run.status()).phase == "adoption_support"
    await env.sleep(timedelta(days=31))
    assert (await run.status()).phase == "success_validation"  # no second key action needed
    assert not [m.key for m in run.outbox() if "no_key_action" in m.key]  # the adoption nudge never fired


async def test_mid_market_integration_before_kickoff_counts_in_implementation(
    env: WorkflowEnvironment, onboard
) -> None:
    run = await onboard("mid_market")
    await env.sleep(timedelta(hours=6))
    await run.event("integration_connected")
    await run.event("teammate_invited")
    await run.act(SkipStep(step="questionnaire"))
    await run.act(SkipStep(step="data_export"))
    status = await run.act(KickoffDone(notes="Goals agreed; Raj owns SSO"))
    assert status.phase == "implementation"
    assert "connect_integration" in status.steps_done and "invite_users" in status.steps_done
    await run.act(CompleteStep(step="configure"))
    await run.act(SkipStep(step="sso"))
    assert (await run.act(SkipStep(step="billing_setup"))).phase == "training"


async def test_enterprise_pilot_events_during_discovery_count_in_the_pilot(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("enterprise")
    await env.sleep(timedelta(days=2))
    await run.event("integration_connected")
    await run.event("first_login")
    for step in ("requirements", "success_plan", "rollout_plan"):
        await run.act(CompleteStep(step=step))
    await run.act(SkipStep(step="stakeholder_map"))
    status = await run.act(KickoffDone())
    assert status.phase == "pilot_implementation"
    assert {"integrations", "pilot_live"} <= set(status.steps_done)
    await run.act(CompleteStep(step="sso"))
    await run.act(SkipStep(step="security_review"))
    assert (await run.act(CompleteStep(step="data_migration"))).phase == "pilot_adoption"


@pytest.mark.parametrize(
    ("segment", "step", "come_back"),
    [
        ("smb", "quick_start", ModuleCompleted(module="quick_start")),
        ("mid_market", "questionnaire", CompleteStep(step="questionnaire")),
        ("enterprise", "stakeholder_map", CompleteStep(step="stakeholder_map")),
    ],
)
async def test_a_skipped_step_can_be_done_later(env: WorkflowEnvironment, onboard, segment, step, come_back) -> None:
    run = await onboard(segment)
    status = await run.act(SkipStep(step=step, by="csm-dmitri"))
    assert step in status.steps_skipped
    await env.sleep(timedelta(days=2))
    status = await run.act(come_back)
    assert step in status.steps_done and step not in status.steps_skipped
    await run.settled()
    assert [h.name for h in run.timeline("action")] == ["skip_step", kind_of(come_back).name]


@pytest.mark.parametrize(
    ("segment", "step", "title", "inviter"),
    [
        ("smb", "connect_integration", "Connect your first integration", "Priya Nair"),
        ("mid_market", "sso", "Set up single sign-on", "Maya Chen"),
        ("enterprise", "sso", "Single sign-on configured", "Hank Scorpio"),
    ],
)
async def test_invite_sends_a_contextual_invitation_to_the_colleague(
    env: WorkflowEnvironment, onboard, segment, step, title, inviter
) -> None:
    run = await onboard(segment)
    await run.act(Invite(step=step, name="Ana Souza", email="Ana@Customer.example", role="it_admin"))
    await run.settled()
    invitation = [m for m in run.outbox() if m.template == "colleague_invitation"]
    assert len(invitation) == 1
    mail = invitation[0]
    assert mail.to_email == "ana@customer.example" and mail.to_role == "colleague"
    assert inviter in mail.subject and title in mail.subject
    assert title in mail.text and "Ana Souza" in mail.text


@pytest.mark.parametrize(
    ("segment", "emails"),
    [
        ("smb", [(0, "welcome", "champion"), (11, "personal_welcome_reminder", "csm"), (11, "setup_day1", "champion")]),
        (
            "mid_market",
            [
                (0, "welcome", "champion"),
                (0, "kickoff_invitation", "champion"),
                (11, "personal_welcome_reminder", "csm"),
            ],
        ),
        (
            "enterprise",
            [
                (0, "welcome", "champion"),
                (0, "kickoff_invitation", "champion"),
                (11, "personal_welcome_reminder", "csm"),
            ],
        ),
    ],
)
async def test_pause_holds_every_touch_and_moves_every_deadline(env: WorkflowEnvironment, onboard, segment, emails):
    run = await onboard(segment)
    await env.sleep(timedelta(hours=12))
    before = await run.status()
    await run.act(Pause(reason="Customer's fiscal year-end freeze"))
    await env.sleep(timedelta(days=10))
    paused = await run.status()
    assert paused.state == "paused" and paused.next_action is None

    def touches() -> list[tuple[int, str, str]]:
        return [e for e in run.emails() if e[1] not in ("pause_confirmation", "welcome_back")]

    assert touches() == emails[: len([e for e in emails if e[0] == 0])]
    assert [e[1] for e in run.emails() if e[1] == "pause_confirmation"] == ["pause_confirmation"]

    resumed = await run.act(Resume())
    moved = resumed.due_at - before.due_at
    assert timedelta(days=10) <= moved < timedelta(days=10, minutes=1)
    await env.sleep(timedelta(days=1, hours=1))
    assert touches() == emails  # the 24-hour reminder came on day 11: moved by the 10 paused days
    assert [(e[0], e[1]) for e in run.emails() if e[1] == "welcome_back"] == [(10, "welcome_back")]


@pytest.mark.parametrize(
    ("segment", "modules", "unskippable"),
    [
        ("smb", "quick_start, feature_highlights", "log_in"),
        ("mid_market", "admin_training, group_webinar, sandbox_practice", "kickoff"),
        ("enterprise", "admin_training, end_user_training, rollout_training", "exec_kickoff"),
    ],
)
async def test_wrong_actions_are_refused_with_the_reason_and_leave_no_trace(
    env: WorkflowEnvironment, onboard, segment, modules, unskippable
) -> None:
    run = await onboard(segment)
    await run.settled()
    before = await history_without_task_bookkeeping(run)

    assert await rejected(run, ModuleCompleted(module="advanced_reporting")) == (
        f"unknown module 'advanced_reporting'; this playbook's modules: {modules}"
    )
    assert await rejected(run, SkipStep(step=unskippable)) == f"step '{unskippable}' cannot be skipped"
    message = await rejected(run, SkipStep(step="no_such_step"))
    assert message.startswith(f"unknown step 'no_such_step'; this playbook's steps: {unskippable}")
    assert await rejected(run, Resume()) == "the onboarding is not paused"
    past = Pause(reason="Budget freeze", until=run.signed_at)
    assert await rejected(run, past) == "until: expected a time in the future"

    # The test server runs each refused update through a workflow task (the real server does not:
    # tests/test_e2e.py checks the history there is untouched); nothing else may appear.
    assert await history_without_task_bookkeeping(run) == before
    assert run.timeline("action") == []


async def test_actions_on_a_finished_onboarding_are_refused(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("enterprise")
    await run.act(SuccessCriteriaMet(evidence="3 dashboards used weekly by the pilot plant"))
    await run.settled()  # the run celebrates, hands over and continues as new into its check-ins
    message = await rejected(run, KickoffDone())
    assert message.startswith("the onboarding is already complete")
    await run.act(Cancel(reason="churned", note="Acquired by a competitor"))
    final = await run.latest.result()
    assert final.state == "cancelled"
    with pytest.raises(RPCError):  # the run has closed: the server itself refuses a second cancel
        await run.act(Cancel(reason="duplicate"))
    assert [h.name for h in run.timeline("cancelled")] == ["churned"]


@pytest.mark.parametrize("segment", ["smb", "mid_market", "enterprise"])
async def test_a_second_start_for_the_same_account_is_refused(env: WorkflowEnvironment, onboard, task_queue, segment):
    run = await onboard(segment)
    with pytest.raises(starter.AlreadyOnboarding, match=run.handle.id):
        await starter.start(env.client, run.contract, task_queue=task_queue)
    await run.settled()
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


async def test_an_escalating_event_before_the_team_is_assigned_waits_for_the_team(
    env: WorkflowEnvironment, onboard
) -> None:
    run = await onboard("smb")  # no wait: the signal races the team assignment
    await run.event("survey_answer", goal_reached=False, csat=2)
    await run.settled()
    status = await run.status()
    assert sorted(e.reason for e in status.open_escalations) == [
        "Low satisfaction on the success survey",
        "Success survey: the customer has not reached their goal",
    ]
    assert {e.assignee for e in status.open_escalations} == {status.owner}


async def test_an_escalation_resolved_after_completion_is_closed_at_once(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await env.sleep(timedelta(days=2, hours=1))  # no personal welcome within 48 h: escalated
    [escalation] = (await run.status()).open_escalations
    await run.act(SuccessCriteriaMet(evidence="Booking page live, 25 bookings"))
    await run.settled()  # complete, continued as new into the check-in cadence
    status = await run.act(ResolveEscalation(escalation=escalation.id, note="Called Priya"))
    assert status.open_escalations == []
    await run.settled()  # not a week later, at the next check-in: now
    [task] = run.tasks()
    assert task.status == "resolved" and task.resolution == "Called Priya"
    described = await run.latest.describe()
    assert described.typed_search_attributes.get(attributes.ESCALATED) is False


async def test_a_refused_reassign_answers_the_csm_and_leaves_no_warning_in_the_worker_log(
    env: WorkflowEnvironment, onboard, caplog: pytest.LogCaptureFixture
) -> None:
    run = await onboard("smb")
    await run.settled()
    with caplog.at_level(logging.DEBUG), pytest.raises(WorkflowUpdateFailedError) as refused:
        await run.act(Reassign(owner="csm-nobody"))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.message == "owner: no active CSM with id 'csm-nobody' in the staff roster"
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not noisy, [r.getMessage() for r in noisy]
    assert (await run.status()).owner == "csm-leo"
