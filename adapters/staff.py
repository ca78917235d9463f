"""The staff roster: who works on onboardings, in which segments, and how many at once.

The Staff table is the roster the engine assigns from. A YAML file (staff.yaml, or STAFF_FILE)
writes it in bulk (`python admin.py staff import`), and fills an empty table the first time
the engine needs someone, so a fresh laptop setup works without an extra step. Load is the
number of active (or paused) onboardings a person is on, as owner, specialist or manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func
from sqlmodel import Session, col, select

from adapters.db import Onboarding, Staff, insert_new
from onboarding.models import Segment, StaffMember, problems

StaffRole = Literal["csm", "implementation_specialist", "cs_manager", "ongoing_csm"]
OPEN_STATUSES = ("active", "paused")


class Person(StaffMember):
    """One person on the CS team, as CS ops write them; the capacity is theirs alone."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    role: StaffRole
    segments: list[Segment] = Field(min_length=1)
    capacity: int = Field(ge=1, le=200, description="active onboardings at once (DOMAIN.md: 8-15, 40-80)")
    active: bool = True
    slack_id: str | None = Field(None, pattern=r"^[UW][A-Z0-9]{2,20}$", description="Slack member id, for Claim")
    booking_url: str | None = Field(None, max_length=500, pattern=r"^https://\S+$", description="booking page")

    def row(self) -> Staff:
        return Staff(**self.model_dump())


class Roster(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[Person] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Roster:
        ids = [p.id for p in self.people]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"people: each id must appear once; repeated: {', '.join(dupes)}")
        return self


class RosterError(ValueError):
    """A roster that cannot be used; the message names the file and each field at fault."""


def load(path: Path) -> Roster:
    """Read and validate a roster file; every problem is reported as `file: field: problem`."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RosterError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise RosterError(f"{path}: not valid YAML: {e}") from None
    try:
        return Roster.model_validate(data)
    except ValidationError as e:
        raise RosterError("\n".join(f"{path}: {line}" for line in problems(e))) from None


def save(db: Session, people: Iterable[Person]) -> None:
    """Add new people and change existing ones (by id), in the caller's transaction."""
    for p in people:
        db.merge(p.row())


def seed_if_empty(db: Session, roster_file: Path) -> None:
    """Fill an empty Staff table from the roster file; concurrent callers insert each person once."""
    if db.exec(select(func.count()).select_from(Staff)).one():
        return
    rows = [p.model_dump() for p in load(roster_file).people]
    db.execute(insert_new(db, Staff, "id").values(rows))
    db.commit()


def loads(db: Session, staff_ids: Iterable[str] | None = None) -> dict[str, int]:
    """Active and paused onboardings per person, counting every seat they hold on them."""
    counts: dict[str, int] = {}
    for column in (Onboarding.owner, Onboarding.specialist, Onboarding.manager, Onboarding.ongoing):
        query = select(column, func.count()).where(col(Onboarding.status).in_(OPEN_STATUSES)).group_by(column)
        if staff_ids is not None:
            query = query.where(col(column).in_(list(staff_ids)))
        for staff_id, n in db.exec(query).all():
            if staff_id is not None:
                counts[staff_id] = counts.get(staff_id, 0) + n
    return counts


def everyone(db: Session) -> list[Staff]:
    return list(db.exec(select(Staff).order_by(Staff.role, Staff.id)).all())
