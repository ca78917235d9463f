"""The mid-market low-touch playbook, day by day on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from tests.journeys import mid_market_happy_path

DAY = timedelta(days=1)


async def test_silent_customer_gets_kickoff_reminders_then_escalations(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("mid_market")
    await env.sleep(15 * DAY)
    assert run.emails() == [
        (0, "welcome", "champion"),
        (0, "kickoff_invitation", "champion"),
        (1, "personal_welcome_reminder", "csm"),
        (2, "escalation", "cs_manager"),  # no personal welcome within 48 h
        (3, "kickoff_invitation", "champion"),  # kickoff reminder
        (7, "reengagement", "champion"),  # day 7 without login ...
        (7, "escalation", "csm"),  # ... flags the CSM
        (7, "escalation", "csm"),  # kickoff not held within a week
        (7, "escalation", "cs_manager"),  # both unclaimed for 8 hours: they go up
        (7, "escalation", "cs_manager"),
        (10, "kickoff_invitation", "champion"),  # the kickoff offered again, weekly
        (14, "reengagement", "champion"),  # no progress for 14 days
        (14, "escalation", "csm"),
        (14, "escalation", "cs_manager"),
    ]
    status = await run.status()
    assert status.phase == "kickoff_planning" and status.health == "red"
    assert len(status.open_escalations) == 4 and {e.assignee for e in status.open_escalations} == {"mgr-elena"}


async def test_happy_path_from_kickoff_to_hand_over(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("mid_market")
    await mid_market_happy_path(env, run)

    assert run.emails() == [
        (0, "welcome", "champion"),
        (0, "kickoff_invitation", "champion"),
        (1, "kickoff_summary", "champion"),
        (1, "milestone_celebration", "champion"),  # kickoff and planning done
        (6, "step_skipped_reminder", "champion"),  # five days after a skipped step
        (10, "milestone_celebration", "champion"),  # implementation done
        (12, "module_completed", "champion"),
        (13, "module_completed", "champion"),
        (15, "checkin_agenda", "champion"),  # every two weeks from the day-1 kickoff
        (15, "step_skipped_reminder", "champion"),
        (18, "step_skipped_reminder", "champion"),
        (27, "success_survey", "champion"),  # go-live ends after 14 days; no check-in after go-live
        (30, "onboarding_complete", "champion"),
        (30, "handover_to_ongoing_csm", "ongoing_csm"),
        (32, "testimonial_request", "champion"),
        (37, "check_in", "champion"),
    ]
    status = await run.status()
    assert status.state == "completed" and status.open_escalations == []
    assert status.modules_done == ["admin_training", "group_webinar"]
    assert [h.name for h in run.timeline("phase")] == [
        "kickoff_planning",
        "implementation",
        "training",
        "go_live",
        "success_validation",
    ]
