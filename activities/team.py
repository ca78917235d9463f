"""Who works on an onboarding: the team assigned at start, and staff looked up on reassignment."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from onboarding import staff
from onboarding.config import Settings
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import StaffMember


@activity.defn
def assign_team(request: AssignRequest) -> Assignment:
    roster = staff.load(Settings.from_env().staff_file)
    try:
        return Assignment(team=roster.team_for(request.segment, request.account_id))
    except ValueError as e:
        raise ApplicationError(str(e), type="NoStaff", non_retryable=True) from None


@activity.defn
def find_staff(staff_id: str) -> StaffMember:
    person = staff.load(Settings.from_env().staff_file).find(staff_id)
    if person is None or person.role != "csm":
        raise ApplicationError(
            f"owner: no CSM with id {staff_id!r} in the staff roster", type="UnknownStaff", non_retryable=True
        )
    return person.member()
