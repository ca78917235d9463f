"""The enterprise high-touch playbook, day by day on the time-skipping server."""

from __future__ import annotations

from collections import Counter

from temporalio.testing import WorkflowEnvironment

from tests.journeys import DAY, enterprise_worst_case
from tests.test_chatty import runs


async def test_silent_customer_gets_the_kickoff_offered_again_and_escalations_to_the_manager(
    env: WorkflowEnvironment, onboard
) -> None:
    run = await onboard("enterprise")
    await env.sleep(15 * DAY)
    assert run.emails() == [
        (0, "welcome", "champion"),
        (0, "kickoff_invitation", "champion"),  # four hours after the welcome (pressure.window)
        (1, "personal_welcome_reminder", "csm"),
        (2, "escalation", "cs_manager"),  # no personal welcome within 48 h
        (5, "kickoff_invitation", "champion"),  # kickoff reminder
        (7, "reengagement", "champion"),  # day 7 without login ...
        (7, "escalation", "csm"),  # ... flags the CSM ...
        (7, "escalation", "cs_manager"),  # ... and, unclaimed for 4 hours, goes up
        (10, "escalation", "cs_manager"),  # executive kickoff not held within 10 days
        (14, "escalation", "cs_manager"),  # no progress for 14 days since signing
        (14, "kickoff_invitation", "champion"),  # offered again weekly, four times
    ]  # no weekly sync: it starts at the kickoff, which never happened


async def test_worst_case_onboarding_completes_with_every_touch_once(env: WorkflowEnvironment, onboard) -> None:
    run = await onboard("enterprise")
    await enterprise_worst_case(env, run)
    status = await run.status()
    assert status.state == "completed"
    assert 120 <= status.days_to_first_value <= 121  # type: ignore[operator]
    assert [h.name for h in run.timeline("phase")] == [
        "discovery_planning",
        "pilot_implementation",
        "pilot_adoption",
        "expansion_rollout",
        "handover",
    ]
    sent = Counter(t for _, t, _ in run.emails())
    assert sent["milestone_celebration"] == 4 and sent["onboarding_complete"] == 1
    assert len(run.outbox()) == len(run.emails()) == len({m.key for m in run.outbox()})
    # No progress for 14 days happens three times: day 39 (day 11 + 14 + the 14 paused days),
    # day 83 (last progress day 69) and day 112 (last progress day 98). Its task is never resolved,
    # so the second and third time count on that one task instead of opening others.
    rules = sorted(t.rule for t in run.tasks() if t.kind == "escalation")
    assert rules == sorted(
        [
            "personal_welcome_overdue",
            "discovery_planning.kickoff_overdue",
            "no_login_7d",
            "pilot_implementation.deadline",
            "expansion_rollout.deadline",
            "handover.deadline",
            "stalled",
        ]
    )
    tasks = [t.rule for t in run.tasks() if t.kind == "task"]
    assert tasks == ["live_week_call"] * 7 + ["prepare_business_review"]  # seven daily calls, one review
    stalled = next(t for t in run.tasks() if t.rule == "stalled")
    assert stalled.occurrences == 3
    assert [int(h.day) for h in run.timeline("escalation") if h.name == "stalled"] == [39]

    sizes = [r.events for r in await runs(run)]
    print(f"\nhistory events, enterprise worst case (every nudge, 9 escalations, a pause): {sizes} by run")
    assert len(sizes) > 1 and max(sizes) <= 500, "a run continues as new before it replays slowly (400 events)"
