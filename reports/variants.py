"""The KPI report's A/B section: each playbook test's groups side by side, and whether the
difference is more than noise.

A group is the onboardings whose timeline says, at signing, which variant they follow
(`playbook_variant`). Completion and escalation rates are compared with a two-proportion
z-test, time to first value with Welch's t (normal approximation); a difference counts only
beyond 95 % (|z| >= 1.96) and with at least MIN_GROUP onboardings a group. Otherwise the
report says plainly that it is within noise.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

from pydantic import BaseModel

from adapters.db import HumanTask, Onboarding, TimelineEvent
from onboarding.variants import CONTROL

Z95 = 1.96
MIN_GROUP = 5


class Group(BaseModel):
    variant: str
    onboardings: int
    completed: int
    escalated: int
    days_to_first_value: list[float]

    @property
    def completion(self) -> float:
        return self.completed / self.onboardings if self.onboardings else 0.0

    @property
    def escalation(self) -> float:
        return self.escalated / self.onboardings if self.onboardings else 0.0

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_first_value) if self.days_to_first_value else None


class Comparison(BaseModel):
    segment: str
    groups: list[Group]
    statement: str


def two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    """The z of the difference between two rates (0 when it cannot be told)."""
    if not n1 or not n2:
        return 0.0
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se if se else 0.0


def welch(a: list[float], b: list[float]) -> float:
    """Welch's t of two means (0 with fewer than two values a side or no spread)."""
    if len(a) < 2 or len(b) < 2:
        return 0.0
    se = math.sqrt(statistics.variance(a) / len(a) + statistics.variance(b) / len(b))
    return (statistics.mean(a) - statistics.mean(b)) / se if se else 0.0


def _percent(rate: float) -> str:
    return f"{rate * 100:.0f}%"


def verdict(control: Group, other: Group) -> str:
    """One plain sentence: what differs beyond noise, or that nothing does yet."""
    sizes = f"n={other.onboardings} vs {control.onboardings}"
    if min(control.onboardings, other.onboardings) < MIN_GROUP:
        few = f"too few onboardings to tell ({sizes}; {MIN_GROUP} a group at least)"
        return f"{other.variant} vs {control.variant}: {few}."
    found = []
    z = two_proportions(other.completed, other.onboardings, control.completed, control.onboardings)
    if abs(z) >= Z95:
        more = "more" if z > 0 else "less"
        found.append(f"completes {more} often ({_percent(other.completion)} vs {_percent(control.completion)})")
    z = two_proportions(other.escalated, other.onboardings, control.escalated, control.onboardings)
    if abs(z) >= Z95:
        more = "more" if z > 0 else "less"
        found.append(f"escalates {more} often ({_percent(other.escalation)} vs {_percent(control.escalation)})")
    t = welch(other.days_to_first_value, control.days_to_first_value)
    if abs(t) >= Z95:
        faster = "slower" if t > 0 else "faster"
        found.append(f"reaches first value {faster} (median {other.median_days:g} vs {control.median_days:g} days)")
    if not found:
        return (
            f"{other.variant} vs {control.variant}: the differences are within noise ({sizes}); "
            "no conclusion yet, keep the test running."
        )
    return f"{other.variant} {', '.join(found)} than {control.variant}, beyond noise at 95% ({sizes})."


def compare(onboardings: list[Onboarding], events: list[TimelineEvent], tasks: list[HumanTask]) -> list[Comparison]:
    """One comparison per segment that ran a playbook test, control first."""
    group_of = {e.account_id: str(e.data.get("variant") or CONTROL) for e in events if e.name == "playbook_variant"}
    escalated = {t.account_id for t in tasks if t.kind == "escalation"}
    by_segment: dict[str, dict[str, Group]] = defaultdict(dict)
    for o in onboardings:
        name = group_of.get(o.account_id)
        if name is None:
            continue
        g = by_segment[o.segment].setdefault(
            name, Group(variant=name, onboardings=0, completed=0, escalated=0, days_to_first_value=[])
        )
        g.onboardings += 1
        g.completed += o.completed_at is not None
        g.escalated += o.account_id in escalated
        if o.first_value_at is not None:
            g.days_to_first_value.append(round((o.first_value_at - o.signed_at).total_seconds() / 86400, 1))
    out = []
    for segment, groups in sorted(by_segment.items()):
        ordered = sorted(groups.values(), key=lambda g: (g.variant != CONTROL, g.variant))
        control = ordered[0]
        statement = " ".join(verdict(control, g) for g in ordered[1:]) or "Only one group has onboardings so far."
        out.append(Comparison(segment=segment, groups=ordered, statement=statement))
    return out


def lines(comparisons: list[Comparison]) -> list[str]:
    """The text report's section: each group's counts and rates, then the plain statement."""
    out: list[str] = []
    for c in comparisons:
        out += ["", f"Playbook test ({c.segment}):"]
        for g in c.groups:
            median = f"{g.median_days:g} days" if g.median_days is not None else "-"
            out.append(
                f"  {g.variant}: {g.onboardings} onboardings, completed {g.completed} ({_percent(g.completion)}),"
                f" escalated {g.escalated} ({_percent(g.escalation)}), time to first value median {median}"
            )
        out.append(f"  {c.statement}")
    return out
