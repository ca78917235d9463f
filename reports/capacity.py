"""The KPI report's people: each person's load against their capacity, and a capacity forecast.

Capacity forecast (Little's law): starts per quarter x onboarding length / quarter = how many
run at once; divided by a person's capacity and rounded up = people needed.
"""

from __future__ import annotations

import math
import statistics
from datetime import timedelta

from pydantic import BaseModel
from sqlmodel import Session

from adapters import staff
from adapters.db import Staff
from adapters.staff import StaffRole
from onboarding.models import Segment
from reports.figures import days
from reports.words import SEGMENT_NAMES, plural

QUARTER = timedelta(weeks=13)
TYPICAL_CAPACITY: dict[tuple[StaffRole, Segment], int] = {
    ("csm", "enterprise"): 12,
    ("csm", "mid_market"): 60,
    ("csm", "smb"): 60,
    ("implementation_specialist", "enterprise"): 12,
    ("implementation_specialist", "mid_market"): 10,
}
"""DOMAIN.md's typical capacities, for a forecast in a segment nobody serves yet."""


class PersonLoad(BaseModel):
    staff_id: str
    name: str
    role: str
    segments: list[str]
    load: int
    capacity: int


class Forecast(BaseModel):
    segment: Segment
    role: StaffRole
    starts_per_quarter: float
    onboarding_days: float
    concurrent: float
    capacity_each: float
    needed: int
    have: int

    def sentence(self) -> str:
        who = "CSM" if self.role == "csm" else "implementation specialist"
        customers = plural(self.starts_per_quarter, f"new {SEGMENT_NAMES[self.segment]} customer")
        return (
            f"{customers} a quarter, {self.onboarding_days:g}-day onboardings, {self.capacity_each:g} active each"
            f" -> {plural(self.needed, who)} (you have {self.have})"
        )


def people(db: Session, segment: Segment | None) -> list[PersonLoad]:
    rows = [p for p in staff.everyone(db) if p.active and (segment is None or segment in p.segments)]
    load = staff.loads(db)
    return [
        PersonLoad(
            staff_id=p.id, name=p.name, role=p.role, segments=p.segments, load=load.get(p.id, 0), capacity=p.capacity
        )
        for p in rows
    ]


def forecast(
    segment: Segment, starts: int, window: timedelta, roster: list[Staff], length: timedelta
) -> list[Forecast]:
    """People each role needs at the pace of `starts` onboardings per `window`."""
    per_quarter = starts * (QUARTER / window)
    concurrent = per_quarter * (length / QUARTER)
    out = []
    roles: tuple[StaffRole, ...] = ("csm",) if segment == "smb" else ("csm", "implementation_specialist")
    for role in roles:
        serving = [p for p in roster if p.active and p.role == role and segment in p.segments]
        each = statistics.fmean(p.capacity for p in serving) if serving else TYPICAL_CAPACITY[(role, segment)]
        out.append(
            Forecast(
                segment=segment,
                role=role,
                starts_per_quarter=round(per_quarter, 1),
                onboarding_days=round(days(length), 1),
                concurrent=round(concurrent, 1),
                capacity_each=round(each, 1),
                needed=math.ceil(round(concurrent / each, 6)),
                have=len(serving),
            )
        )
    return out
