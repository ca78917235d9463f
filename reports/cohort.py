"""The records a KPI report reads: the onboardings signed in its window, optionally of one
segment, with their accounts' companies, timelines and human tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from adapters.db import Account, HumanTask, Onboarding, TimelineEvent
from onboarding.models import Segment


@dataclass(frozen=True)
class Cohort:
    onboardings: list[Onboarding]
    """Oldest signing first."""
    companies: dict[str, str]
    """Each account's company name."""
    events: list[TimelineEvent]
    """Their timeline rows, in the order they happened."""
    tasks: list[HumanTask]


def load(db: Session, now: datetime, since: datetime | None, segment: Segment | None) -> Cohort:
    """The onboardings signed in [since, now] (from the first when since is None), in `segment` (all when None)."""
    in_cohort: list[Any] = [Onboarding.signed_at <= now]
    if since is not None:
        in_cohort.append(Onboarding.signed_at >= since)
    if segment is not None:
        in_cohort.append(Onboarding.segment == segment)
    accounts = select(Onboarding.account_id).where(*in_cohort)
    pairs = db.exec(
        select(Onboarding, Account.company).join(Account).where(*in_cohort).order_by(col(Onboarding.signed_at))
    ).all()
    events = db.exec(
        select(TimelineEvent)
        .where(col(TimelineEvent.account_id).in_(accounts))
        .order_by(col(TimelineEvent.at), col(TimelineEvent.seq), col(TimelineEvent.id))
    ).all()
    tasks = db.exec(select(HumanTask).where(col(HumanTask.account_id).in_(accounts))).all()
    return Cohort(
        onboardings=[o for o, _ in pairs],
        companies={o.account_id: company for o, company in pairs},
        events=list(events),
        tasks=list(tasks),
    )
