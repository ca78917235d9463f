"""Who works on an onboarding: the team assigned at start, and staff looked up on reassignment."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from adapters import assignment
from adapters.config import Settings
from adapters.db import engine
from adapters.staff import RosterError
from onboarding.effects import Assignment, AssignRequest
from onboarding.models import StaffMember


class Staffing:
    """The staff roster (the Staff table, filled from the roster file when empty) and the assignments."""

    def __init__(self, settings: Settings) -> None:
        self.engine: Engine = engine(settings.database_url)
        self.roster_file = settings.staff_file

    @activity.defn
    def assign_team(self, request: AssignRequest) -> Assignment:
        """Choose the team by segment and load (see adapters.assignment); a retry returns the same team.

        Nobody fits: without `wait_for_staff` the answer has no team and says why; with it, a
        retryable NoStaffYet error, so the caller's retry policy asks again until someone fits.
        """
        try:
            chosen = assignment.assign(self.engine, request, self.roster_file)
        except assignment.NoStaff as e:
            raise ApplicationError(str(e), type="NoStaffYet") from None
        if chosen.team is None and chosen.cs_manager is None:
            activity.logger.error(
                "onboarding %s has no team and the staff roster has no active CS manager to tell: "
                "add staff with `python admin.py staff add`",
                request.workflow_id,
            )
        return chosen

    @activity.defn
    def find_staff(self, staff_id: str) -> StaffMember:
        """The active CSM with this id, for a reassignment; a clear non-retryable error otherwise."""
        try:
            member = assignment.find_csm(self.engine, staff_id, self.roster_file)
        except RosterError as e:
            raise ApplicationError(str(e), type="NoStaff", non_retryable=True) from None
        if member is None:
            unknown = f"owner: no active CSM with id {staff_id!r} in the staff roster"
            # A refusal the CSM reads in the update's answer, not a fault: logged at debug, no traceback.
            raise ApplicationError(
                unknown, type="UnknownStaff", non_retryable=True, category=ApplicationErrorCategory.BENIGN
            )
        return member
