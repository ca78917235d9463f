"""What a playbook says about the whole onboarding: red flags, health, check-ins after it,
measurable success, the overdue rule, the hand-over form, and contact pressure."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Literal

from pydantic import Field, model_validator

from onboarding.playbook.terms import Conditions, Duration, Escalate, Id, Localized, Rule, Send


class SupportLoad(Rule):
    tickets: int = Field(ge=1)
    within: Duration


class RedFlags(Rule):
    """Signals that a person should reach out: escalations raised the moment they appear."""

    goal_not_reached: Escalate | None = None
    low_csat: Escalate | None = None
    low_csat_at_most: int = Field(2, ge=1, le=5)
    high_ces: Escalate | None = None
    high_ces_at_least: int = Field(5, ge=1, le=7, description="CES 1-7: the effort it took, 7 = very hard")
    low_nps: Escalate | None = None
    low_nps_at_most: int = Field(6, ge=0, le=10, description="NPS detractors answer 0-6")
    support_load: Escalate | None = None
    support_load_threshold: SupportLoad = SupportLoad(tickets=3, within=timedelta(days=7))


class HealthRules(Rule):
    yellow_after_inactive: Duration
    red_after_inactive: Duration


class CheckIns(Rule):
    every: Duration
    times: int | None = Field(None, ge=1, description="None: for as long as the customer stays")


class Criterion(Rule):
    """A measurable success criterion: it is met the moment its conditions hold."""

    id: Id
    title: Localized
    when: Conditions = Field(min_length=1)


class Overdue(Rule):
    """The whole onboarding passed its standard length without success (fact `overdue`)."""

    after: Duration | None = Field(None, description="default: the playbook's length")
    escalate: Escalate | None = None
    send: Send | None = None


class Handover(Rule):
    """What makes the sales hand-over form complete (then `touch:sales_handover` holds at signing)."""

    requires: tuple[Literal["goals", "stakeholders", "risks", "notes"], ...] = ("goals", "stakeholders")


class Pressure(Rule):
    """How often one person may be emailed, and when: the rest is deferred or merged."""

    window: Duration = Field(timedelta(minutes=1), description="at most one email to a person within this")
    merge_same: bool = Field(True, description="a touch whose template is already waiting is merged into it")
    quiet_from: time | None = Field(None, description="no email from this local time ...")
    quiet_until: time | None = Field(None, description="... until this local time")
    business_days: bool = Field(False, description="emails wait for Monday-Friday in the recipient's zone")

    @model_validator(mode="after")
    def _quiet_pair(self) -> Pressure:
        if (self.quiet_from is None) != (self.quiet_until is None):
            raise ValueError("give quiet_from and quiet_until together")
        return self
