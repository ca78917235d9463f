"""The customer's plan: phases, steps with their people and states, as the portal shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from onboarding.journey import view
from onboarding.journey.where import Where
from onboarding.models import State


class PlanStep(BaseModel):
    id: str
    title: str
    titles: dict[str, str]
    role: str
    owner: str | None
    """The email of the person the step was handed to, if any."""
    state: Literal["done", "todo", "skipped", "stuck"]
    stuck_reason: str | None = None
    due_at: datetime | None
    confirmable: bool
    """A person may mark it done; false when the product reports it."""
    skippable: bool


class PlanPhase(BaseModel):
    id: str
    title: str
    titles: dict[str, str]
    state: Literal["done", "current", "upcoming"]
    steps: list[PlanStep]


class PlanPerson(BaseModel):
    name: str
    email: str
    role: str
    steps: list[str]


class PlanContact(BaseModel):
    name: str
    email: str


class Plan(BaseModel):
    account_id: str
    company: str
    locale: str
    state: State
    phases: list[PlanPhase]
    success_criteria: list[str]
    csm: PlanContact | None
    people: list[PlanPerson]
    paused_until: datetime | None
    due_at: datetime
    self_pause: bool
    invite_outside_domain: bool


def plan(j: Where) -> Plan:
    """Where the customer's plan stands; a step is due when its phase is planned to end."""
    phases, due = [], j.p.phase_started_at
    for index, phase in enumerate(j.playbook.phases):
        state: Literal["done", "current", "upcoming"] = "upcoming"
        if j.p.outcome == "completed" or index < j.p.phase_index:
            state = "done"
        elif index == j.p.phase_index:
            state, due = "current", j.shifted(j.p.phase_started_at, phase.planned)
        else:
            due += phase.planned
        steps = [
            PlanStep(
                id=s.id,
                title=j.title(s.title),
                titles=s.title,
                role=s.role,
                owner=j.p.owners.get(s.id),
                state=_step_state(j, s.id),
                stuck_reason=j.p.stuck.get(s.id),
                due_at=due if state != "done" else None,
                confirmable=s.confirmable,
                skippable=s.skippable,
            )
            for s in phase.steps
        ]
        phases.append(PlanPhase(id=phase.id, title=j.title(phase.title), titles=phase.title, state=state, steps=steps))
    people = {c.email: PlanPerson(name=c.name, email=c.email, role=c.role, steps=[]) for c in j.contract.contacts}
    for c in j.p.contacts.values():
        people[c.email] = PlanPerson(name=c.name, email=c.email, role=c.role, steps=[])
    for p in j.p.people:
        people[p.email] = PlanPerson(name=p.name, email=p.email, role=p.role, steps=list(p.steps))
    team = j.p.team
    return Plan(
        account_id=j.contract.account_id,
        company=j.contract.company,
        locale=j.contract.locale,
        state=view.state(j),
        phases=phases,
        success_criteria=j.criteria_titles(j.contract.locale),
        csm=PlanContact(name=team.csm.name, email=team.csm.email) if team else None,
        people=list(people.values()),
        paused_until=j.p.paused_until,
        due_at=j.due_at(),
        self_pause=j.playbook.self_pause,
        invite_outside_domain=j.playbook.invite_outside_domain,
    )


def _step_state(j: Where, step_id: str) -> Literal["done", "todo", "skipped", "stuck"]:
    step = j.playbook.step(step_id)
    if step is not None and j.step_done(step):
        return "done"
    if step_id in j.p.stuck:
        return "stuck"
    return "skipped" if step_id in j.p.skipped else "todo"
