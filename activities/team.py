"""Who works on an onboarding: the team assigned at start, and staff looked up on reassignment."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from onboarding import assignment
from onboarding.config import Settings
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import StaffMember
from onboarding.staff import RosterError


@activity.defn
def assign_team(request: AssignRequest) -> Assignment:
    """Choose the team by segment and load (see onboarding.assignment); a retry returns the same team."""
    settings = Settings.from_env()
    try:
        return assignment.assign(settings.database_url, request, settings.staff_file)
    except (assignment.NoStaff, RosterError) as e:
        raise ApplicationError(str(e), type="NoStaff", non_retryable=True) from None


@activity.defn
def find_staff(staff_id: str) -> StaffMember:
    settings = Settings.from_env()
    try:
        member = assignment.find_csm(settings.database_url, staff_id, settings.staff_file)
    except RosterError as e:
        raise ApplicationError(str(e), type="NoStaff", non_retryable=True) from None
    if member is None:
        raise ApplicationError(
            f"owner: no active CSM with id {staff_id!r} in the staff roster", type="UnknownStaff", non_retryable=True
        )
    return member
