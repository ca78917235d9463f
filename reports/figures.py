"""The KPI report's figures over a cohort of onboardings (reports/cohort.py), each defined so it can
be checked by hand:
- started = active + paused + completed + cancelled; completed means first value reached
  (also when cancelled later), cancelled means cancelled before that.
- Completion rate: over the onboardings whose standard length (their playbook's `length`:
  30, 60, 120 days) has elapsed since signing, completed / all of them. Younger ones, whatever
  their state, are counted apart (`within_length`): three minutes after signing an onboarding
  has not failed to complete.
- Time to first value: signed -> completed, in days; the median of an even count is the mean
  of the middle two, p90 is the nearest rank (the ceil(0.9 n)-th smallest).
- Time in a phase: from its phase row to the next phase, completion or cancellation row,
  calendar days (pauses included); phases still running are not counted.
- Activation: the playbook's key actions (the `key_action` facts it waits for) done within its
  standard length after signing. Onboardings still inside that window and not yet activated
  are left out until they are decided.
- Escalation rate: onboardings with at least one human task / started.
- Automation rate: emails sent to the customer side / those plus touches done by a person
  (kickoff, logged personal touches except the internal sales hand-over).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from pydantic import BaseModel, computed_field

from adapters import staff
from adapters.db import HumanTask, Onboarding, TimelineEvent
from onboarding import playbook
from onboarding.models import VENDOR_ROLES, Segment
from onboarding.playbook import Playbook

DAY = timedelta(days=1)


class Rate(BaseModel):
    """`count` of `of`; the percent is None when `of` is 0."""

    count: int
    of: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> float | None:
        return round(100 * self.count / self.of, 1) if self.of else None


class Counts(BaseModel):
    started: int
    active: int
    paused: int
    completed: int
    cancelled: int
    completion: Rate
    within_length: int


class PhaseTime(BaseModel):
    phase: str
    finished: int
    mean_days: float


class SegmentKpis(BaseModel):
    segment: Segment
    counts: Counts
    ttfv_days: list[float]
    ttfv_median_days: float | None
    ttfv_p90_days: float | None
    activation: Rate
    phases: list[PhaseTime]


class ReasonCount(BaseModel):
    reason: str
    count: int


class Survey(BaseModel):
    answers: int
    goal_reached: Rate
    csat_average: float | None
    csat_satisfied: Rate
    ces_average: float | None


class AtRisk(BaseModel):
    account_id: str
    company: str
    segment: str
    owner: str
    health: str
    reason: str
    open_escalations: int
    signed_at: datetime


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile: the ceil(0.9 n)-th smallest value."""
    return sorted(values)[math.ceil(0.9 * len(values)) - 1] if values else None


def days(delta: timedelta) -> float:
    return delta / DAY


@cache
def standard_length(segment: Segment) -> timedelta:
    return playbook.for_segment(segment).length


def counts(onboardings: list[Onboarding], now: datetime) -> Counts:
    due = [o for o in onboardings if now >= o.signed_at + standard_length(o.segment)]
    completed = sum(o.completed_at is not None for o in onboardings)
    cancelled = sum(o.completed_at is None and o.cancelled_at is not None for o in onboardings)
    paused = sum(o.completed_at is None and o.status == "paused" for o in onboardings)
    started = len(onboardings)
    return Counts(
        started=started,
        active=started - completed - cancelled - paused,
        paused=paused,
        completed=completed,
        cancelled=cancelled,
        completion=Rate(count=sum(o.completed_at is not None for o in due), of=len(due)),
        within_length=started - len(due),
    )


def key_actions(pb: Playbook) -> set[str]:
    """The key-action facts the playbook waits for: `key_action` (any) or `key_action:<name>`."""
    facts = {f for p in pb.phases for f in p.exit_when}
    facts |= {s.fact for p in pb.phases for s in p.steps}
    facts |= {c.fact for t in pb.all_timers() for c in (*t.unless, *t.when) if c.fact}
    return {f for f in facts if f == "key_action" or f.startswith("key_action:")}


def activation(onboardings: list[Onboarding], events: list[TimelineEvent], pb: Playbook, now: datetime) -> Rate:
    wanted = key_actions(pb)
    done: dict[str, set[str]] = defaultdict(set)
    signed = {o.account_id: o.signed_at for o in onboardings}
    for e in events:
        in_window = e.account_id in signed and e.at <= signed[e.account_id] + pb.length
        if e.kind == "event" and e.name == "key_action" and in_window:
            done[e.account_id] |= {"key_action", f"key_action:{e.data.get('action')}"}
    activated = decided = 0
    for o in onboardings:
        ok = bool(wanted) and wanted <= done[o.account_id]
        if ok or now >= o.signed_at + pb.length or o.status == "cancelled":
            decided += 1
            activated += ok
    return Rate(count=activated, of=decided)


def phase_times(events: list[TimelineEvent], pb: Playbook) -> list[PhaseTime]:
    spells: dict[str, list[float]] = defaultdict(list)
    current: dict[str, TimelineEvent] = {}
    for e in events:
        if e.kind not in ("phase", "completed", "cancelled"):
            continue
        started = current.pop(e.account_id, None)
        if started is not None:
            spells[started.name].append(days(e.at - started.at))
        if e.kind == "phase":
            current[e.account_id] = e
    order = [p.id for p in pb.phases] + sorted(set(spells) - {p.id for p in pb.phases})
    return [
        PhaseTime(phase=p, finished=len(spells[p]), mean_days=statistics.fmean(spells[p])) for p in order if spells[p]
    ]


def segment_kpis(
    segment: Segment, onboardings: list[Onboarding], events: list[TimelineEvent], now: datetime
) -> SegmentKpis:
    pb = playbook.for_segment(segment)
    accounts = {o.account_id for o in onboardings}
    mine = [e for e in events if e.account_id in accounts]
    ttfv = sorted(days(o.completed_at - o.signed_at) for o in onboardings if o.completed_at)
    return SegmentKpis(
        segment=segment,
        counts=counts(onboardings, now),
        ttfv_days=ttfv,
        ttfv_median_days=median(ttfv),
        ttfv_p90_days=p90(ttfv),
        activation=activation(onboardings, mine, pb, now),
        phases=phase_times(mine, pb),
    )


def automation(events: Iterable[TimelineEvent]) -> Rate:
    automated = human = 0
    for e in events:
        if e.kind == "email" and e.to not in VENDOR_ROLES:
            automated += 1
        elif e.kind == "action" and (
            e.name == "kickoff_done" or (e.name == "log_touch" and e.data.get("touch") != "sales_handover")
        ):
            human += 1
    return Rate(count=automated, of=automated + human)


def survey(events: Iterable[TimelineEvent]) -> Survey:
    """The survey_answer rows' fields: goal_reached (bool), csat and ces (int or None)."""
    answers = [e.data for e in events if e.kind == "event" and e.name == "survey_answer" and "goal_reached" in e.data]
    csat = [int(a["csat"]) for a in answers if a.get("csat") is not None]
    ces = [int(a["ces"]) for a in answers if a.get("ces") is not None]
    return Survey(
        answers=len(answers),
        goal_reached=Rate(count=sum(bool(a["goal_reached"]) for a in answers), of=len(answers)),
        csat_average=statistics.fmean(csat) if csat else None,
        csat_satisfied=Rate(count=sum(c >= 4 for c in csat), of=len(csat)),
        ces_average=statistics.fmean(ces) if ces else None,
    )


def escalations(onboardings: list[Onboarding], tasks: list[HumanTask]) -> tuple[Rate, list[ReasonCount]]:
    tasks = [t for t in tasks if t.kind == "escalation"]
    escalated = {t.account_id for t in tasks}
    reasons = Counter(t.reason for t in tasks)
    top = sorted(reasons.items(), key=lambda rc: (-rc[1], rc[0]))[:5]
    return (
        Rate(count=sum(o.account_id in escalated for o in onboardings), of=len(onboardings)),
        [ReasonCount(reason=r, count=n) for r, n in top],
    )


def at_risk(
    onboardings: list[Onboarding], companies: dict[str, str], tasks: list[HumanTask], events: list[TimelineEvent]
) -> list[AtRisk]:
    open_tasks: dict[str, list[HumanTask]] = defaultdict(list)
    for t in sorted(tasks, key=lambda t: t.opened_at):
        if t.status == "open":
            open_tasks[t.account_id].append(t)
    health_reason = {e.account_id: e.detail for e in events if e.kind == "health"}
    out = []
    for o in onboardings:
        mine = open_tasks[o.account_id]
        if o.status in staff.OPEN_STATUSES and (o.health == "red" or mine):
            reason = mine[0].reason if mine else health_reason.get(o.account_id, "health is red")
            out.append(
                AtRisk(
                    account_id=o.account_id,
                    company=companies[o.account_id],
                    segment=o.segment,
                    owner=o.owner,
                    health=o.health,
                    reason=reason,
                    open_escalations=len(mine),
                    signed_at=o.signed_at,
                )
            )
    return sorted(out, key=lambda r: r.signed_at)
