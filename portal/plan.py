"""The onboarding's plan as the workflow answers it (query `get_plan`), and what a holder may do with it.

The portal reads its own copy of the Plan's JSON (extra fields ignored), so it depends only on
the query's documented shape. Who may act on what: a contract contact (a link of scope
`plan`) on every step; an invited colleague (scope `steps`) on the steps they were invited to
or handed. Only the account in the link's token is ever asked for: no URL names an account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from onboarding.models import VENDOR_ROLES, workflow_id
from portal.tokens import Holder

PLAN_QUERY = "get_plan"


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PlanStep(Loose):
    id: str
    title: str
    titles: dict[str, str] = {}
    role: str
    owner: str | None = None
    state: Literal["done", "todo", "skipped", "stuck"]
    stuck_reason: str | None = None
    due_at: datetime | None = None
    confirmable: bool = True
    skippable: bool = False

    def title_in(self, locale: str) -> str:
        return self.titles.get(locale) or self.title


class PlanPhase(Loose):
    id: str
    title: str
    titles: dict[str, str] = {}
    state: Literal["done", "current", "upcoming"]
    steps: list[PlanStep] = []

    def title_in(self, locale: str) -> str:
        return self.titles.get(locale) or self.title


class PlanPerson(Loose):
    name: str
    email: str
    role: str
    steps: list[str] = []


class Csm(Loose):
    name: str
    email: str


class Plan(Loose):
    account_id: str
    company: str
    locale: str = "en"
    state: Literal["active", "paused", "completed", "cancelled"]
    phases: list[PlanPhase]
    success_criteria: list[str] = []
    csm: Csm | None = None
    people: list[PlanPerson] = []
    paused_until: datetime | None = None
    due_at: datetime | None = None
    self_pause: bool = False
    invite_outside_domain: bool = False

    def steps(self) -> list[PlanStep]:
        return [s for p in self.phases for s in p.steps]

    def step(self, step_id: str) -> PlanStep | None:
        return next((s for s in self.steps() if s.id == step_id), None)

    def person(self, email: str) -> PlanPerson | None:
        return next((p for p in self.people if p.email.lower() == email.lower()), None)

    @property
    def open(self) -> bool:
        return self.state in ("active", "paused")


class NoPlan(Exception):
    """No onboarding (or no plan) for the link's account."""


async def fetch(client: Client, account_id: str) -> Plan:
    """The plan of the account's current run; NoPlan if there is none. Other RPC errors pass on."""
    handle = client.get_workflow_handle(workflow_id(account_id))
    try:
        raw: Any = await handle.query(PLAN_QUERY, result_type=dict)
    except RPCError as e:
        if e.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            raise NoPlan from None
        raise
    return Plan.model_validate(raw)


def may_act_on(plan: Plan, holder: Holder, step: PlanStep) -> bool:
    """Whether the page offers this holder the step's actions (the workflow still checks each one)."""
    if not plan.open or step.role in VENDOR_ROLES:  # the vendor's own steps are shown, not acted on
        return False
    if holder.scope == "plan":
        return True
    me = plan.person(holder.email)
    return me is not None and step.id in me.steps


def on_plan(plan: Plan, holder: Holder) -> bool:
    """Still a person of this plan (a corrected contact's old address is not)."""
    return plan.person(holder.email) is not None


def next_for(plan: Plan, holder: Holder) -> list[PlanStep]:
    """'What's next for you': open steps this person owns, or of their role, or that they may act on."""
    me = plan.person(holder.email)
    role = me.role if me else None
    mine = []
    for step in plan.steps():
        if step.state not in ("todo", "stuck"):
            continue
        owned = step.owner is not None and step.owner.lower() == holder.email
        by_role = step.owner is None and role is not None and step.role == role
        invited = me is not None and step.id in me.steps
        if owned or by_role or invited:
            mine.append(step)
    return mine
