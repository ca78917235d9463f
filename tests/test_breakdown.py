"""bench/breakdown.py: an event -> email sample splits at the moments its history records."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.history.v1 import HistoryEvent

from bench.breakdown import LEGS, Sample, before_team, report, split

SENT = 1_000.0


def event(event_id: int, kind: int, at: float, **attributes: object) -> HistoryEvent:
    e = HistoryEvent(event_id=event_id, event_type=kind, **attributes)  # type: ignore[arg-type]
    e.event_time.FromNanoseconds(round(at * 1e9))
    return e


def history() -> list[HistoryEvent]:
    """An earlier signal, then ours: taken 10 ms after it arrives, the task takes 20 ms, the email starts 3 ms later."""
    events = [
        event(1, ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, SENT - 0.5),
        event(2, ET.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, SENT + 0.002),
        event(3, ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, SENT + 0.002),
        event(4, ET.EVENT_TYPE_WORKFLOW_TASK_STARTED, SENT + 0.012),
        event(5, ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, SENT + 0.032),
    ]
    email = event(6, ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, SENT + 0.032)
    email.activity_task_scheduled_event_attributes.activity_type.name = "send_email"
    events.append(email)
    started = event(8, ET.EVENT_TYPE_ACTIVITY_TASK_STARTED, SENT + 0.035)
    started.activity_task_started_event_attributes.scheduled_event_id = 6
    return [*events, started, event(9, ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, SENT + 0.05)]


def test_a_sample_splits_at_its_signal_task_and_email() -> None:
    sample = split(history(), SENT, emailed=SENT + 0.047)
    assert dict(zip(LEGS, (round(leg * 1000, 3) for leg in sample.legs), strict=True)) == {
        "to_server": 2.0,
        "waiting_for_worker": 10.0,
        "workflow_task": 20.0,
        "waiting_for_activity_slot": 3.0,
        "sending": 12.0,
    }


def test_the_report_gives_each_legs_percentiles_and_share() -> None:
    samples = [Sample((0.001, 0.01, 0.02, 0.003, 0.016))] * 3 + [Sample((0.001, 0.05, 0.02, 0.003, 0.026))]
    figures = report(samples)
    assert figures["legs"]["waiting_for_worker"] == {"count": 4, "p50_ms": 10.0, "p95_ms": 50.0, "p99_ms": 50.0}
    assert figures["share_of_slowest_1pct"]["waiting_for_worker"] == 0.5
    assert figures["share_of_mean"]["waiting_for_worker"] == round(0.08 / 0.25, 3)


def assignment(completed_at: float) -> list[HistoryEvent]:
    scheduled = event(20, ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, SENT - 1)
    scheduled.activity_task_scheduled_event_attributes.activity_type.name = "assign_team"
    done = event(21, ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, completed_at)
    done.activity_task_completed_event_attributes.scheduled_event_id = 20
    return [scheduled, done]


def test_an_email_is_excused_only_when_its_event_came_before_the_team_was_assigned() -> None:
    events = history()
    assert before_team([*assignment(completed_at=SENT + 4), *events], SENT)
    assert not before_team([*assignment(completed_at=SENT - 0.5), *events], SENT)
    assert before_team(events, SENT), "never assigned"
