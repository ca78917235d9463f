"""Onboarding KPIs (DOMAIN.md), computed from the records the engine wrote: the whole report.

The cohort is the onboardings signed since a date (all, by default), optionally one segment
(reports/cohort.py). Each figure's definition stands beside the code that computes it:
completion, time to first value, phase times, activation, escalations, automation and the
survey in reports/figures.py; load and the capacity forecast in reports/capacity.py; staff
tasks, customer participation and playbook tests in reports/tasks.py, participation.py and
variants.py.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session

from adapters import staff
from onboarding import playbook
from onboarding.models import SEGMENTS, Segment
from reports import cohort
from reports.capacity import QUARTER, Forecast, PersonLoad, forecast, people
from reports.figures import (
    AtRisk,
    Counts,
    Rate,
    ReasonCount,
    SegmentKpis,
    Survey,
    at_risk,
    automation,
    counts,
    escalations,
    segment_kpis,
    survey,
)
from reports.participation import Participation, participation
from reports.tasks import TaskCounts, task_counts
from reports.variants import Comparison, compare


class Report(BaseModel):
    as_of: datetime
    since: datetime | None
    segment: Segment | None
    totals: Counts
    segments: list[SegmentKpis]
    escalations: Rate
    top_reasons: list[ReasonCount]
    staff_tasks: TaskCounts
    automation: Rate
    survey: Survey
    at_risk: list[AtRisk]
    people: list[PersonLoad]
    forecast: list[Forecast]
    participation: Participation
    variants: list[Comparison] = []
    """Playbook A/B tests: each segment's groups side by side (reports/variants.py)."""


def report(db: Session, now: datetime, since: datetime | None = None, segment: Segment | None = None) -> Report:
    """Every KPI for the onboardings signed since `since` (all when None), in `segment` (all when None)."""
    if since is not None and since >= now:
        raise ValueError(f"since: expected a time before {now:%Y-%m-%d %H:%M} UTC, got {since:%Y-%m-%d %H:%M}")
    c = cohort.load(db, now, since, segment)
    onboardings, events, tasks = c.onboardings, c.events, c.tasks
    segments = [segment] if segment else list(SEGMENTS)
    escalation_rate, reasons = escalations(onboardings, tasks)
    window_start = since or now - QUARTER
    roster = staff.everyone(db)
    return Report(
        as_of=now,
        since=since,
        segment=segment,
        totals=counts(onboardings, now),
        segments=[segment_kpis(s, [o for o in onboardings if o.segment == s], events, now) for s in segments],
        escalations=escalation_rate,
        top_reasons=reasons,
        staff_tasks=task_counts(tasks, now),
        automation=automation(events),
        survey=survey(events),
        at_risk=at_risk(onboardings, c.companies, tasks, events),
        people=people(db, segment),
        forecast=[
            f
            for s in segments
            for f in forecast(
                s,
                sum(o.segment == s and o.signed_at >= window_start for o in onboardings),
                now - window_start,
                roster,
                playbook.for_segment(s).length,
            )
        ],
        participation=participation(onboardings, events),
        variants=compare(onboardings, events, tasks),
    )
