"""Customer participation (issue: the customer's side): who on the customer's side acts, and who finishes steps.

From the timeline's action rows, whose actor is `customer:<address>` when a person acted
from the portal and a staff id when a CSM did (addresses are counted, never reported):
- people who acted per onboarding: the distinct customer actors of each onboarding in the
  cohort (0 for one where nobody did), their mean, and how many onboardings had 0, 1, 2, 3+;
- completion by that number: completed (first value reached) / started, per group, so
  "onboardings where 2+ people acted complete more often" can be read off;
- steps confirmed done by the customer versus by the CSM: `complete_step` actions by a
  customer actor / all `complete_step` actions (steps a product event completes count for
  neither: nobody confirmed them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from adapters.db import Onboarding, TimelineEvent
from reports.figures import Rate

CUSTOMER = "customer:"
GROUPS = ("0", "1", "2", "3+")


class ParticipationGroup(BaseModel):
    people: str
    """How many customer people acted: 0, 1, 2 or 3+."""
    onboardings: int
    completion: Rate


class Participation(BaseModel):
    onboardings: int
    with_customer_actions: Rate
    mean_people: float | None
    groups: list[ParticipationGroup]
    steps_by_customer: Rate
    steps_by_csm: int


def _group(n: int) -> str:
    return GROUPS[min(n, 3)]


def participation(onboardings: list[Onboarding], events: Iterable[TimelineEvent]) -> Participation:
    accounts = {o.account_id for o in onboardings}
    people: dict[str, set[str]] = defaultdict(set)
    by_customer = by_csm = 0
    for e in events:
        if e.kind != "action" or e.account_id not in accounts:
            continue
        customer = e.actor.startswith(CUSTOMER)
        if customer:
            people[e.account_id].add(e.actor)
        if e.name == "complete_step":
            by_customer += customer
            by_csm += not customer
    counts = {o.account_id: len(people[o.account_id]) for o in onboardings}
    groups = []
    for label in GROUPS:
        members = [o for o in onboardings if _group(counts[o.account_id]) == label]
        done = sum(o.completed_at is not None for o in members)
        groups.append(
            ParticipationGroup(people=label, onboardings=len(members), completion=Rate(count=done, of=len(members)))
        )
    return Participation(
        onboardings=len(onboardings),
        with_customer_actions=Rate(count=sum(n > 0 for n in counts.values()), of=len(onboardings)),
        mean_people=round(sum(counts.values()) / len(counts), 2) if counts else None,
        groups=groups,
        steps_by_customer=Rate(count=by_customer, of=by_customer + by_csm),
        steps_by_csm=by_csm,
    )


def share(rate: Rate) -> str:
    return "n/a" if rate.percent is None else f"{rate.percent:g}% ({rate.count}/{rate.of})"


def lines(p: Participation) -> list[str]:
    """The plain-text report's section."""
    pct = share
    mean = "n/a" if p.mean_people is None else f"{p.mean_people:g}"
    out = [
        "Customer participation",
        f"  onboardings where a customer person acted in the portal: {pct(p.with_customer_actions)}",
        f"  customer people who acted per onboarding (mean): {mean}",
        "  completion by people who acted:",
    ]
    out += [f"    {g.people:>2}: {g.onboardings} onboardings, completed {pct(g.completion)}" for g in p.groups]
    out.append(f"  steps confirmed done by the customer: {pct(p.steps_by_customer)}; by the CSM: {p.steps_by_csm}")
    return out
