"""Choosing the team for a new onboarding: by segment and current load, within capacity.

A CSM and a CS manager for every onboarding, and an implementation specialist for mid-market
and enterprise. Among the active people who serve the segment, the least loaded relative to
their own capacity is chosen. When everyone who fits is full, the least loaded still gets the
onboarding and `over_capacity` says so, for the workflow to escalate to the CS manager:
nobody is overloaded silently. CS managers receive escalations and have no capacity check.

When nobody fits (no CSM or no CS manager serves the segment, or the roster file is broken),
the onboarding is recorded with the owner "unassigned" and the answer says why, in words a CS
manager acts on, and which manager to tell. Asked again later, it assigns as soon as someone
fits. An account whose last onboarding was cancelled (or failed) and which signs again gets
its row reset for the new onboarding instead of the old team.

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

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters import staff
from adapters.db import Account, Onboarding, Staff
from adapters.staff import RosterError, StaffRole
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import Segment, StaffMember, Team

ROLE_NAMES: dict[StaffRole, str] = {
    "csm": "CSMs",
    "implementation_specialist": "implementation specialists",
    "cs_manager": "CS managers",
    "ongoing_csm": "ongoing CSMs",
}
OPTIONAL: tuple[StaffRole, ...] = ("implementation_specialist", "ongoing_csm")
"""Seats an onboarding can start without: no specialist is noted for a manager; no ongoing CSM
means the CSM keeps the account after onboarding."""
REASON_LIMIT = 300  # an escalation's reason (onboarding.playbook.Escalate) is at most this long


UNASSIGNED = "unassigned"
"""The owner of an onboarding nobody could take yet."""
REOPENABLE = ("cancelled", "failed")
"""An onboarding that ended so; signing again starts a new one under the same workflow id."""
SAYS: dict[StaffRole, str] = {
    "csm": "CSM",
    "implementation_specialist": "specialist",
    "cs_manager": "CS manager",
    "ongoing_csm": "ongoing CSM",
}


class NoStaff(LookupError):
    """Nobody fits yet and the request waits for staff; the message says why, for a CS manager."""


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
        return ("csm", "cs_manager", "ongoing_csm")
    return ("csm", "implementation_specialist", "cs_manager", "ongoing_csm")


def assign(db_engine: Engine, request: AssignRequest, roster_file: Path) -> Assignment:
    """Choose and record the team for one onboarding, or return the one already recorded.

    Nobody fits: the onboarding is recorded unassigned, and the answer says why, or, when the
    request waits for staff, NoStaff is raised for the caller to retry.
    """
    broken = None
    try:
        with Session(db_engine) as db:
            staff.seed_if_empty(db, roster_file)
    except RosterError as e:
        broken = f"The staff roster cannot be used, so nobody owns this onboarding yet: {e}"
    try:
        with Session(db_engine) as db:
            return _assign(db, request, broken)
    except IntegrityError:
        # Another attempt for the same onboarding committed first: decide again, on its row.
        with Session(db_engine) as db:
            return _assign(db, request, broken)


def _assign(db: Session, request: AssignRequest, broken: str | None) -> Assignment:
    if db.get_bind().dialect.name == "sqlite":
        db.connection().exec_driver_sql("BEGIN IMMEDIATE")
    seats = [] if broken else _lock_candidates(db, request.segment)
    existing = db.get(Onboarding, request.workflow_id)
    settled = existing is not None and (existing.owner != UNASSIGNED or existing.status not in staff.OPEN_STATUSES)
    if existing is not None and settled and not _reopened(existing, request):
        return _recorded(db, existing)
    chosen: dict[StaffRole, Staff] = {}
    notes = []
    missing: list[StaffRole] = []
    for role in roles_for(request.segment):
        fit = sorted((s for s in seats if s.person.role == role), key=Seat.order)
        if not fit:
            if role not in OPTIONAL:
                missing.append(role)
            elif role == "implementation_specialist" and not broken:
                notes.append(f"No active implementation specialist serves {request.segment}")
            continue
        best = fit[0]
        chosen[role] = best.person
        if role in ("csm", "implementation_specialist") and best.full:
            notes.append(
                f"All {request.segment} {ROLE_NAMES[role]} are at capacity: {best.person.id} now has "
                f"{best.load + 1} of {best.person.capacity} active onboardings"
            )
    if broken or missing:
        return _unassigned(db, request, existing, broken or _why(missing, request.segment))
    over_capacity = "; ".join(notes)[:REASON_LIMIT] or None
    specialist, ongoing = chosen.get("implementation_specialist"), chosen.get("ongoing_csm")
    seats_taken = {
        "owner": chosen["csm"].id,
        "specialist": specialist.id if specialist else None,
        "manager": chosen["cs_manager"].id,
        "ongoing": ongoing.id if ongoing else None,
        "over_capacity": over_capacity,
    }
    _record(db, request, existing, seats_taken)
    db.commit()
    return Assignment(team=_team(chosen), over_capacity=over_capacity)


def _reopened(existing: Onboarding, request: AssignRequest) -> bool:
    """The account signed again after its last onboarding was cancelled or failed."""
    return existing.status in REOPENABLE and existing.signed_at != request.signed_at


def _why(missing: list[StaffRole], segment: Segment) -> str:
    roles = " or ".join(SAYS[r] for r in missing)
    return (
        f"No active {roles} serves {segment} onboardings, so nobody owns this one yet: add one with "
        f"`python admin.py staff add` or `python admin.py staff set ID --segment {segment}`; "
        "the onboarding is assigned as soon as someone fits"
    )


def _unassigned(db: Session, request: AssignRequest, existing: Onboarding | None, why: str) -> Assignment:
    """Record the onboarding without a team (once), then say why, or raise NoStaff to be asked again."""
    manager = _any_manager(db, request.segment)
    if existing is None or _reopened(existing, request):
        seats = {"owner": UNASSIGNED, "specialist": None, "manager": manager.id if manager else None, "ongoing": None}
        _record(db, request, existing, {**seats, "over_capacity": None})
    db.commit()
    if request.wait_for_staff:
        raise NoStaff(why[:REASON_LIMIT])
    return Assignment(team=None, unassigned=why[:REASON_LIMIT], cs_manager=_member(manager) if manager else None)


def _any_manager(db: Session, segment: Segment) -> Staff | None:
    """An active CS manager to tell, one who serves the segment if there is one."""
    managers = db.exec(select(Staff).where(Staff.active, Staff.role == "cs_manager").order_by(Staff.id)).all()
    return next((m for m in managers if segment in m.segments), managers[0] if managers else None)


def _lock_candidates(db: Session, segment: Segment) -> list[Seat]:
    """The active people who serve the segment, locked, with their current load."""
    roles = roles_for(segment)
    rows = db.exec(select(Staff.id, Staff.segments).where(Staff.active, col(Staff.role).in_(roles))).all()
    ids = sorted(staff_id for staff_id, segments in rows if segment in segments)
    locked = db.exec(select(Staff).where(col(Staff.id).in_(ids)).order_by(Staff.id).with_for_update()).all()
    load = staff.loads(db, ids)
    return [Seat(p, load.get(p.id, 0)) for p in locked if p.active and segment in p.segments]


def _record(db: Session, request: AssignRequest, existing: Onboarding | None, seats: dict[str, str | None]) -> None:
    """The account's details and who holds each seat: a new row, a reopened one, or new seats on it."""
    details = request.model_dump(include={"company", "segment", "locale", "acv", "employees"})
    account = db.get(Account, request.account_id)
    if account is None:
        account = Account(account_id=request.account_id, created_at=datetime.now(UTC), **details)
    account.sqlmodel_update(details)
    db.add(account)
    fresh = Onboarding(
        workflow_id=request.workflow_id,
        account_id=request.account_id,
        segment=request.segment,
        phase="signed",
        owner=UNASSIGNED,
        signed_at=request.signed_at,
        updated_at=request.signed_at,
    )
    if existing is None:
        existing = fresh
    elif _reopened(existing, request):
        existing.sqlmodel_update(fresh.model_dump(exclude={"workflow_id"}))
    existing.sqlmodel_update(seats)
    db.add(existing)


def _recorded(db: Session, onboarding: Onboarding) -> Assignment:
    if onboarding.owner == UNASSIGNED:
        return Assignment(team=None, unassigned=f"The onboarding is {onboarding.status}; nobody was assigned to it")
    seats: dict[StaffRole, str | None] = {
        "csm": onboarding.owner,
        "implementation_specialist": onboarding.specialist,
        "cs_manager": onboarding.manager,
        "ongoing_csm": onboarding.ongoing,
    }
    chosen = {role: person for role, staff_id in seats.items() if staff_id and (person := db.get(Staff, staff_id))}
    return Assignment(team=_team(chosen), over_capacity=onboarding.over_capacity)


def _member(p: Staff) -> StaffMember:
    return StaffMember(id=p.id, name=p.name, email=p.email, locale=p.locale, timezone=p.timezone)


def _team(chosen: dict[StaffRole, Staff]) -> Team:
    specialist, ongoing = chosen.get("implementation_specialist"), chosen.get("ongoing_csm")
    return Team(
        csm=_member(chosen["csm"]),
        cs_manager=_member(chosen["cs_manager"]),
        implementation_specialist=_member(specialist) if specialist else None,
        ongoing_csm=_member(ongoing) if ongoing else None,
    )


def find_csm(db_engine: Engine, staff_id: str, roster_file: Path) -> StaffMember | None:
    """The active CSM with this id, for a reassignment."""
    with Session(db_engine) as db:
        staff.seed_if_empty(db, roster_file)
        person = db.get(Staff, staff_id)
    if person is None or person.role != "csm" or not person.active:
        return None
    return _member(person)
