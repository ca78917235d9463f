"""Choosing the team for a new onboarding: by segment and current load, within capacity.

A CSM and a CS manager for every onboarding, and an implementation specialist for mid-market
and enterprise. Among the active people who serve the segment, the least loaded relative to
their own capacity is chosen. When everyone who fits is full, the least loaded still gets the
onboarding and `over_capacity` says so, for the workflow to escalate to the CS manager:
nobody is overloaded silently. CS managers receive escalations and have no capacity check.

Concurrent starts must not all see the same free seat. On PostgreSQL the people who could be
chosen are locked (`SELECT ... FOR UPDATE`, in id order so two segments sharing a person
cannot deadlock) before their load is counted; the next start waits for the commit and counts
again. SQLite allows one writer at a time, so the transaction starts with `BEGIN IMMEDIATE`.
The Onboarding row is the record of the choice: a retry for the same workflow id reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from onboarding import staff
from onboarding.db import Account, Onboarding, Staff, engine
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import Segment, StaffMember, Team
from onboarding.staff import StaffRole

ROLE_NAMES: dict[StaffRole, str] = {
    "csm": "CSMs",
    "implementation_specialist": "implementation specialists",
    "cs_manager": "CS managers",
}
REASON_LIMIT = 300  # an escalation's reason (onboarding.playbook.Escalate) is at most this long


class NoStaff(LookupError):
    """Nobody in the roster can take a role the onboarding needs."""


@dataclass(frozen=True)
class Seat:
    """A person who could be chosen, with their load before this onboarding."""

    person: Staff
    load: int

    @property
    def full(self) -> bool:
        return self.load >= self.person.capacity

    def order(self) -> tuple[float, int, str]:
        return (self.load / self.person.capacity, self.load, self.person.id)


def roles_for(segment: Segment) -> tuple[StaffRole, ...]:
    if segment == "smb":
        return ("csm", "cs_manager")
    return ("csm", "implementation_specialist", "cs_manager")


def assign(url: str, request: AssignRequest, roster_file: Path) -> Assignment:
    """Choose and record the team for one onboarding, or return the one already recorded."""
    with Session(engine(url)) as db:
        staff.seed_if_empty(db, roster_file)
    try:
        with Session(engine(url)) as db:
            return _assign(db, request)
    except IntegrityError:
        # Another attempt for the same onboarding committed first: its choice stands.
        with Session(engine(url)) as db:
            existing = db.get(Onboarding, request.workflow_id)
            if existing is None:
                raise
            return _recorded(db, existing)


def _assign(db: Session, request: AssignRequest) -> Assignment:
    if db.get_bind().dialect.name == "sqlite":
        db.connection().exec_driver_sql("BEGIN IMMEDIATE")
    seats = _lock_candidates(db, request.segment)
    existing = db.get(Onboarding, request.workflow_id)
    if existing is not None:
        return _recorded(db, existing)
    chosen: dict[StaffRole, Staff] = {}
    notes = []
    for role in roles_for(request.segment):
        fit = sorted((s for s in seats if s.person.role == role), key=Seat.order)
        if not fit:
            if role != "implementation_specialist":
                raise NoStaff(
                    f"staff roster: no active {role} serves {request.segment} onboardings; "
                    "add one with `python admin.py staff add` or `staff set ID --segment ...`"
                )
            notes.append(f"No active implementation specialist serves {request.segment}")
            continue
        best = fit[0]
        chosen[role] = best.person
        if role != "cs_manager" and best.full:
            notes.append(
                f"All {request.segment} {ROLE_NAMES[role]} are at capacity: {best.person.id} now has "
                f"{best.load + 1} of {best.person.capacity} active onboardings"
            )
    over_capacity = "; ".join(notes)[:REASON_LIMIT] or None
    _record(db, request, chosen, over_capacity)
    db.commit()
    return Assignment(team=_team(chosen), over_capacity=over_capacity)


def _lock_candidates(db: Session, segment: Segment) -> list[Seat]:
    """The active people who serve the segment, locked, with their current load."""
    roles = roles_for(segment)
    rows = db.exec(select(Staff.id, Staff.segments).where(Staff.active, col(Staff.role).in_(roles))).all()
    ids = sorted(staff_id for staff_id, segments in rows if segment in segments)
    locked = db.exec(select(Staff).where(col(Staff.id).in_(ids)).order_by(Staff.id).with_for_update()).all()
    load = staff.loads(db, ids)
    return [Seat(p, load.get(p.id, 0)) for p in locked if p.active and segment in p.segments]


def _record(db: Session, request: AssignRequest, chosen: dict[StaffRole, Staff], over_capacity: str | None) -> None:
    details = request.model_dump(include={"company", "segment", "locale", "acv", "employees"})
    account = db.get(Account, request.account_id)
    if account is None:
        account = Account(account_id=request.account_id, created_at=datetime.now(UTC), **details)
    account.sqlmodel_update(details)
    db.add(account)
    specialist = chosen.get("implementation_specialist")
    db.add(
        Onboarding(
            workflow_id=request.workflow_id,
            account_id=request.account_id,
            segment=request.segment,
            phase="signed",
            owner=chosen["csm"].id,
            specialist=specialist.id if specialist else None,
            manager=chosen["cs_manager"].id,
            over_capacity=over_capacity,
            signed_at=request.signed_at,
            updated_at=request.signed_at,
        )
    )


def _recorded(db: Session, onboarding: Onboarding) -> Assignment:
    seats: dict[StaffRole, str | None] = {
        "csm": onboarding.owner,
        "implementation_specialist": onboarding.specialist,
        "cs_manager": onboarding.manager,
    }
    chosen = {role: person for role, staff_id in seats.items() if staff_id and (person := db.get(Staff, staff_id))}
    return Assignment(team=_team(chosen), over_capacity=onboarding.over_capacity)


def _team(chosen: dict[StaffRole, Staff]) -> Team:
    def member(p: Staff) -> StaffMember:
        return StaffMember(id=p.id, name=p.name, email=p.email)

    specialist = chosen.get("implementation_specialist")
    return Team(
        csm=member(chosen["csm"]),
        cs_manager=member(chosen["cs_manager"]),
        implementation_specialist=member(specialist) if specialist else None,
    )


def find_csm(url: str, staff_id: str, roster_file: Path) -> StaffMember | None:
    """The active CSM with this id, for a reassignment."""
    with Session(engine(url)) as db:
        staff.seed_if_empty(db, roster_file)
        person = db.get(Staff, staff_id)
    if person is None or person.role != "csm" or not person.active:
        return None
    return StaffMember(id=person.id, name=person.name, email=person.email)
