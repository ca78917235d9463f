"""The staff roster: who can own which onboardings (staff.yaml, or STAFF_FILE)."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onboarding.models import Segment, StaffMember, Team, problems

StaffRole = Literal["csm", "implementation_specialist", "cs_manager"]


class Person(StaffMember):
    model_config = ConfigDict(extra="forbid")
    role: StaffRole
    segments: list[Segment] = Field(min_length=1)
    capacity: int = Field(ge=1, le=200)

    def member(self) -> StaffMember:
        return StaffMember(id=self.id, name=self.name, email=self.email)


class Roster(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[Person] = Field(min_length=1)

    def find(self, staff_id: str) -> Person | None:
        return next((p for p in self.people if p.id == staff_id), None)

    def pick(self, role: StaffRole, segment: Segment, account_id: str) -> Person | None:
        """Spread accounts over the people who fit, the same way every time for one account."""
        fit = [p for p in self.people if p.role == role and segment in p.segments]
        return fit[zlib.crc32(account_id.encode()) % len(fit)] if fit else None

    def team_for(self, segment: Segment, account_id: str) -> Team:
        csm, manager = self.pick("csm", segment, account_id), self.pick("cs_manager", segment, account_id)
        if not (csm and manager):
            raise ValueError(f"staff roster: nobody can own a {segment} onboarding (need a csm and a cs_manager)")
        specialist = self.pick("implementation_specialist", segment, account_id) if segment != "smb" else None
        return Team(
            csm=csm.member(),
            cs_manager=manager.member(),
            implementation_specialist=specialist.member() if specialist else None,
        )


def load(path: Path) -> Roster:
    try:
        return Roster.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as e:
        raise ValueError("\n".join(f"{path}: {line}" for line in problems(e))) from None
