"""The SMB tech-touch playbook, day by day on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from onboarding.messages import Pause
from tests.journeys import smb_happy_path


async def test_silent_customer_gets_the_day_1_3_7_sequence_and_escalations(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await env.sleep(timedelta(days=10, hours=1))
    assert run.emails() == [
        (0, "welcome", "champion"),
        (1, "personal_welcome_reminder", "csm"),
        (1, "setup_day1", "champion"),
        (2, "escalation", "cs_manager"),  # no personal welcome within 48 h
        (3, "reengagement", "champion"),  # no login in 3 days: re-engagement, not the setup email too
        (7, "reengagement", "champion"),  # day 7 without login ...
        (7, "escalation", "csm"),  # ... flags the CSM ...
        (9, "escalation", "cs_manager"),  # ... who did not claim it within 48 hours
        (10, "reengagement", "champion"),  # 10 days without any activity
        (10, "escalation", "csm"),
    ]
    status = await run.status()
    assert status.health == "red"
    assert [e.id for e in status.open_escalations] == [
        "personal_welcome_overdue.1",
        "no_login_7d.1",
        f"inactive@{await run.began():%Y%m%dT%H%M%S}.1",  # the episode is keyed by the last activity
    ]
    assert {t.assignee for t in run.tasks()} == {"mgr-elena", status.owner}


async def test_happy_path_completes_on_the_day_30_survey_then_checks_in(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await smb_happy_path(env, run)

    assert run.emails() == [
        (0, "welcome", "champion"),
        (0, "milestone_celebration", "champion"),  # setup done on day 0
        (1, "quick_start_guide", "champion"),  # 12 hours later: one email per window (pressure)
        (2, "module_completed", "champion"),
        (9, "weekly_summary", "champion"),
        (16, "weekly_summary", "champion"),
        (23, "weekly_summary", "champion"),
        (30, "success_survey", "champion"),  # the day-30 success check
        (30, "onboarding_complete", "champion"),  # answered "goal reached" half a day later
        (30, "handover_to_ongoing_csm", "ongoing_csm"),
        (32, "testimonial_request", "champion"),  # goal reached and CSAT >= 4, two days later
        (37, "check_in", "champion"),  # the weekly post-onboarding cadence
    ]
    status = await run.status()
    assert status.state == "completed"
    assert status.days_to_first_value is not None and 30 <= status.days_to_first_value < 31
    assert [h.name for h in run.timeline("phase")] == [
        "self_serve_setup",
        "early_training",
        "adoption_support",
        "success_validation",
    ]


async def test_pause_until_a_date_resumes_by_itself(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    until = run.signed_at + timedelta(days=5)
    await run.act(Pause(reason="Waiting for budget approval", until=until))
    await env.sleep(timedelta(days=5, hours=1))
    status = await run.status()
    assert status.state == "active"
    assert [h.kind for h in run.timeline("paused", "resumed")] == ["paused", "resumed"]
    assert run.emails() == [
        (0, "pause_confirmation", "champion"),  # paused before the team was even assigned
        (0, "welcome", "champion"),
        (5, "welcome_back", "champion"),  # the pause ended on its date
    ]
    await env.sleep(timedelta(days=1))
    assert (6, "setup_day1", "champion") in run.emails()


async def test_health_changes_are_recorded_when_they_happen(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("smb")
    await env.sleep(timedelta(days=2, hours=1))  # the 48-hour personal-welcome escalation turns it red
    await run.settled()
    assert [(int(h.day), h.name) for h in run.timeline("health")] == [(2, "red")]
