"""Scripted journeys shared by the tests that record histories and count their events."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from onboarding.messages import (
    CompleteStep,
    HumanTouch,
    KickoffDone,
    ModuleCompleted,
    Pause,
    ProductEvent,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
)
from service import send
from tests.conftest import Run

DAY = timedelta(days=1)


async def enterprise_worst_case(env: WorkflowEnvironment, run: Run) -> None:
    """A slow enterprise customer: every phase runs long enough for each of its nudges and
    escalations to fire, with a two-week pause in the pilot, then success is validated."""
    await env.sleep(11 * DAY)  # kickoff reminder, overdue escalation, weekly syncs
    await run.act(HumanTouch(touch="personal_welcome"))
    for step in ("requirements", "success_plan", "rollout_plan"):
        await run.act(CompleteStep(step=step))
    await run.act(SkipStep(step="stakeholder_map"))
    await run.act(KickoffDone(notes="Exec sponsor: Hank"))
    await env.sleep(10 * DAY)  # pilot: weekly syncs
    await run.act(Pause(reason="Security review on the customer side"))
    await env.sleep(14 * DAY)
    await run.act(Resume())
    await env.sleep(26 * DAY)  # pilot stalled (35 days of unpaused time)
    await run.event("integration_connected")
    await run.event("first_login")
    for step in ("sso", "data_migration"):
        await run.act(CompleteStep(step=step))
    await run.act(SkipStep(step="security_review"))
    await env.sleep(8 * DAY)  # adoption: daily check-ins for a week
    await run.act(ModuleCompleted(module="end_user_training"))
    await run.event("key_action", action="dashboard_built")
    await env.sleep(29 * DAY)  # rollout: weekly syncs, review overdue
    await run.event("teammate_invited")
    await run.act(HumanTouch(touch="business_review"))
    await run.act(SkipStep(step="rollout_training"))
    await env.sleep(22 * DAY)  # hand-over: survey, syncs, validation overdue
    await run.act(SuccessCriteriaMet(evidence="3 dashboards used weekly in 2 plants"))
    await run.settled()


async def smb_happy_path(env: WorkflowEnvironment, run: Run) -> None:
    """Personal welcome, login on day 0, the quick-start module, weekly key actions, and a
    "goal reached" answer to the day-30 survey; ends a week into the check-in cadence."""
    await env.sleep(timedelta(hours=4))
    await run.act(HumanTouch(touch="personal_welcome", by="csm-leo"))
    await env.sleep(timedelta(hours=8))
    await run.event("first_login")
    await env.sleep(2 * DAY)
    await run.act(ModuleCompleted(module="quick_start"))
    for days in (1, 6, 6, 6, 6):  # days 3.5, 9.5, 15.5, 21.5, 27.5
        await env.sleep(days * DAY)
        await run.event("key_action", action="booking_page_published")
    await env.sleep(3 * DAY)
    assert (await run.status()).phase == "success_validation"
    await run.event("survey_answer", goal_reached=True, csat=5, ces=2)
    await env.sleep(8 * DAY)


async def mid_market_happy_path(env: WorkflowEnvironment, run: Run) -> None:
    """Kickoff on day 1, implementation to day 10, training to day 13, go-live with key
    actions, survey answered on day 30; ends a week into the check-in cadence."""
    await env.sleep(2 * timedelta(hours=1))
    await run.act(HumanTouch(touch="personal_welcome", by="csm-dmitri"))
    await env.sleep(DAY - 2 * timedelta(hours=1))  # day 1: kickoff
    await run.event("first_login")
    await run.event("teammate_invited")
    await run.act(CompleteStep(step="questionnaire"))
    await run.act(SkipStep(step="data_export"))
    status = await run.act(KickoffDone(notes="Dispatch workflows first"))
    assert status.phase == "implementation"
    await env.sleep(5 * DAY)  # day 6
    await run.event("integration_connected")
    await run.act(CompleteStep(step="configure"))
    await run.act(CompleteStep(step="billing_setup"))
    await env.sleep(4 * DAY)  # day 10
    assert (await run.act(SkipStep(step="sso"))).phase == "training"
    await env.sleep(2 * DAY)  # day 12
    await run.act(ModuleCompleted(module="admin_training"))
    await env.sleep(DAY)  # day 13
    await run.act(ModuleCompleted(module="group_webinar"))
    assert (await run.act(SkipStep(step="sandbox_practice"))).phase == "go_live"
    for days in (2, 5, 5):  # days 15, 20, 25
        await env.sleep(days * DAY)
        await run.event("key_action", action="dispatch_board_used")
    await env.sleep(5 * DAY)  # day 30
    assert (await run.status()).phase == "success_validation"
    await run.event("survey_answer", goal_reached=True, csat=4, ces=3)
    await env.sleep(8 * DAY)


async def chatty_product(env: WorkflowEnvironment, run: Run) -> None:
    """A product that reports every key action: 2,400 events in the first week, enough for the
    onboarding to continue as new before it completes; success on day 8, a check-in a week later."""
    for day in range(8):
        await env.sleep(DAY)
        for batch in range(12):
            events = [
                send.signal(run.latest, ProductEvent(name="key_action", action="booking_made", id=f"{day}-{batch}-{n}"))
                for n in range(25)
            ]
            await asyncio.gather(*events)
    await run.act(SuccessCriteriaMet(evidence="2,400 bookings made online"))
    await env.sleep(8 * DAY)


async def smb_rollout(env: WorkflowEnvironment, run: Run) -> None:
    """The SMB happy path with a playbook rollout on day 2 (early training renamed `training`,
    its nudge sooner), sent twice as an interrupted rollout run again would; ends in check-ins."""
    from onboarding.messages import ApplyPlaybook
    from tests.rollout_playbooks import load, v2_text

    v2 = load(v2_text())
    await env.sleep(timedelta(hours=4))
    await run.act(HumanTouch(touch="personal_welcome", by="csm-leo"))
    await run.event("first_login")
    await env.sleep(2 * DAY)
    for _ in range(2):
        await run.act(ApplyPlaybook(playbook=v2.model_dump(mode="json"), version=v2.version, by="ops-ana"))
    assert (await run.status()).phase == "training"
    await run.act(ModuleCompleted(module="quick_start"))
    for days in (1, 6, 6, 6, 6):
        await env.sleep(days * DAY)
        await run.event("key_action", action="booking_page_published")
    await env.sleep(3 * DAY)
    await run.event("survey_answer", goal_reached=True, csat=5, ces=2)
    await env.sleep(8 * DAY)
