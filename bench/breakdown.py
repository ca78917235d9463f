"""Where an event -> email sample's time went, read from the onboarding's own history.

A sample runs from sending the product event to the email's .eml in the outbox. The server
stamps each step on the way, so the sample splits into five legs:
- to the server: the signal recorded (WORKFLOW_EXECUTION_SIGNALED);
- waiting for the worker: the workflow task that takes the signal starts;
- workflow task: it completes. The journey's code runs in it, and so does the records lane's
  local activity when that task queued records: a task completes only once its local
  activities have, and the email's activity is scheduled only then;
- waiting for an activity slot: the email's send_email activity starts;
- sending: rendering, the outbox row, the .eml.
Each leg is reported as percentiles, plus its mean share of the whole, for every sample and
for the slowest 1%.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from statistics import fmean
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from adapters.email.local import eml_path
from bench.common import percentiles
from bench.journey import Trip

LEGS = ("to_server", "waiting_for_worker", "workflow_task", "waiting_for_activity_slot", "sending")
E = EventType


@dataclass(frozen=True)
class Sample:
    legs: tuple[float, ...]  # seconds, in the order of LEGS

    @property
    def total(self) -> float:
        return sum(self.legs)


def split(events: Sequence[HistoryEvent], sent: float, emailed: float) -> Sample:
    """The legs of one sample: the first signal recorded after `sent`, and the first email it scheduled."""

    def first(kind: int, after: int, where: Any = lambda e: True) -> HistoryEvent:
        return next(e for e in events if e.event_id > after and e.event_type == kind and where(e))

    signaled = _signal_after(events, sent)
    task = first(E.EVENT_TYPE_WORKFLOW_TASK_STARTED, signaled.event_id)
    done = first(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, task.event_id)
    email = first(
        E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        done.event_id,
        lambda e: e.activity_task_scheduled_event_attributes.activity_type.name == "send_email",
    )
    started = first(
        E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        email.event_id,
        lambda e: e.activity_task_started_event_attributes.scheduled_event_id == email.event_id,
    )
    stamps = (sent, _at(signaled), _at(task), _at(done), _at(started), emailed)
    return Sample(tuple(max(0.0, b - a) for a, b in pairwise(stamps)))


async def samples(client: Client, trips: Sequence[Trip], outbox: Path, excused: Collection[str] = ()) -> list[Sample]:
    """Every sample of `trips`, from their first runs' histories and the outbox's files."""
    out: list[Sample] = []
    for trip in trips:
        history = await client.get_workflow_handle(trip.workflow_id, run_id=trip.run_id).fetch_history()
        out.extend(
            split(history.events, sent, eml_path(outbox, key).stat().st_mtime)
            for sent, key in trip.sent
            if key not in excused
        )
    return out


async def unsent(client: Client, trips: Sequence[Trip], outbox: Path) -> set[str]:
    """The sampled emails the engine rightly never sent: their event came before the onboarding's
    team was assigned (it waits, unprocessed, until then), and by then the onboarding had moved past
    the touch (success completes an onboarding whatever its phase, without the phase's farewell).
    Under heavy load a worker can take seconds to assign the team; any other missing email stays an error."""
    out: set[str] = set()
    for trip in trips:
        missing = [(sent, key) for sent, key in trip.sent if not eml_path(outbox, key).exists()]
        if not missing:
            continue
        events = (await client.get_workflow_handle(trip.workflow_id, run_id=trip.run_id).fetch_history()).events
        out.update(key for sent, key in missing if before_team(events, sent))
    return out


def before_team(events: Sequence[HistoryEvent], sent: float) -> bool:
    """The signal sent at `sent` was recorded before the team assignment completed (or it never did)."""
    assigned = _assigned_at(events)
    return assigned is None or _at(_signal_after(events, sent)) < assigned


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToNanoseconds() / 1e9


def _signal_after(events: Sequence[HistoryEvent], sent: float) -> HistoryEvent:
    """The signal sent at `sent`: the first recorded after it (the server's stamp can be a hair earlier: 5 ms)."""
    signals = (e for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    return next(e for e in signals if _at(e) >= sent - 0.005)


def _assigned_at(events: Sequence[HistoryEvent]) -> float | None:
    """When the team assignment (the run's first activity) completed, if it did."""
    scheduled = {
        e.event_id
        for e in events
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "assign_team"
    }
    done = (
        e
        for e in events
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
    )
    return next((_at(e) for e in done), None)


def report(samples: Sequence[Sample]) -> dict[str, Any]:
    """Percentiles of each leg, the mean share of each, for all samples and for the slowest 1%."""
    if not samples:
        return {}
    ordered = sorted(samples, key=lambda s: s.total)
    slowest = ordered[int(len(ordered) * 0.99) :] or ordered[-1:]

    def shares(group: Sequence[Sample]) -> dict[str, float]:
        whole = fmean(s.total for s in group) or 1.0
        return {leg: round(fmean(s.legs[i] for s in group) / whole, 3) for i, leg in enumerate(LEGS)}

    return {
        "legs": {leg: percentiles([s.legs[i] for s in samples]) for i, leg in enumerate(LEGS)},
        "share_of_mean": shares(samples),
        "share_of_slowest_1pct": shares(slowest),
    }
