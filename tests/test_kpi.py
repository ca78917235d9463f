"""KPIs from what the engine recorded: a seeded set of onboardings, figures worked out by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from activities.records import Records
from activities.team import Staffing
from adapters.config import Settings
from adapters.db import Staff, engine
from onboarding.effects import AssignRequest, EscalationRequest, ResolveRequest, TimelineEntry
from onboarding.messages import HumanTouch, ModuleCompleted
from onboarding.models import VENDOR_ROLES
from reports import capacity, kpi

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PEOPLE: list[dict[str, Any]] = [
    {"id": "mgr", "role": "cs_manager", "segments": ["smb", "mid_market"], "capacity": 100},
    {"id": "csm-m", "role": "csm", "segments": ["mid_market"], "capacity": 5},
    {"id": "csm-s", "role": "csm", "segments": ["smb"], "capacity": 2},
    {"id": "is-m", "role": "implementation_specialist", "segments": ["mid_market"], "capacity": 5},
]


@pytest.fixture
def db_url(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine's database (SQLite, then PostgreSQL), with the roster above."""
    roster = tmp_path / "staff.yaml"
    people = [p | {"name": p["id"].upper(), "email": f"{p['id']}@vendor.example"} for p in PEOPLE]
    roster.write_text(yaml.safe_dump({"people": people}))
    monkeypatch.setenv("STAFF_FILE", str(roster))
    return db_url


@dataclass
class Seeded:
    """One onboarding, written through the engine's own activities as the workflow would."""

    records: Records
    account: str
    signed: datetime
    seq: int = 0

    def at(self, day: float) -> datetime:
        return self.signed + timedelta(days=day)

    def log(self, day: float, kind: str, name: str, detail: str = "", to: str | None = None, **data: Any) -> Seeded:
        self.seq += 1
        entry = TimelineEntry(
            key=f"onboarding-{self.account}:{self.seq}",
            account_id=self.account,
            at=self.at(day),
            kind=kind,  # type: ignore[arg-type]
            name=name,
            actor="engine" if kind not in ("action", "event") else "someone",
            to=to,
            detail=detail,
            data=data,
        )
        self.records.record_timeline([entry])
        return self

    def email(self, day: float, template: str, to: str) -> Seeded:
        return self.log(day, "email", template, f"subject of {template}", to=to)

    def escalate(self, day: float, reason: str, resolved_on: float | None = None) -> Seeded:
        self.seq += 1
        key = f"onboarding-{self.account}/esc.{self.seq}"
        self.records.open_escalation(
            EscalationRequest(
                key=key,
                workflow_id=f"onboarding-{self.account}",
                account_id=self.account,
                rule=f"rule{self.seq}",
                reason=reason,
                to="csm",
                assignee="csm",
                opened_at=self.at(day),
            )
        )
        if resolved_on is not None:
            self.records.resolve_escalation(
                ResolveRequest(key=key, account_id=self.account, by="csm", note="done", at=self.at(resolved_on))
            )
        return self


def start(account: str, segment: str, days_ago: float, now: datetime, company: str = "") -> Seeded:
    """Assign the team and return the onboarding to log to, through activities built from the
    settings the test's environment says (the `db_url` fixture's database and roster)."""
    settings = Settings.from_env()
    signed = now - timedelta(days=days_ago)
    Staffing(settings).assign_team(
        AssignRequest(
            workflow_id=f"onboarding-{account}",
            account_id=account,
            company=company or account.upper(),
            segment=segment,  # type: ignore[arg-type]
            locale="en",
            acv=Decimal(5000),
            employees=40,
            signed_at=signed,
        )
    )
    return Seeded(Records(settings), account, signed)


def seed(now: datetime = NOW) -> None:
    """Eight onboardings, oldest first, each written in full before the next starts."""
    m1 = start("m1", "mid_market", 100, now)
    m1.log(0, "phase", "kickoff_planning").email(0, "welcome", "champion").email(0, "kickoff_invitation", "champion")
    m1.log(3, "action", "kickoff_done", "goals agreed").log(10, "phase", "implementation")
    m1.log(40, "event", "key_action", "report_shared", action="report_shared")
    m1.log(49, "event", "survey_answer", "goal reached: yes; CSAT 3; CES 4", goal_reached=True, csat=3, ces=4)
    m1.log(50, "completed", "onboarding_complete")

    m2 = start("m2", "mid_market", 70, now).log(0, "phase", "kickoff_planning")
    m2.log(44, "event", "survey_answer", "goal not reached", goal_reached=False, csat=None, ces=None)
    m2.escalate(44, "Success survey: the customer has not reached their goal", resolved_on=45)
    m2.log(45, "completed", "onboarding_complete")

    s1 = start("s1", "smb", 60, now)
    s1.log(0, "phase", "self_serve_setup").email(0, "welcome", "champion")
    s1.log(
        0.2, "action", "log_touch", "sales_handover: form complete", touch="sales_handover"
    )  # internal: not a customer touch
    s1.log(0.5, "action", "log_touch", "personal_welcome: called Priya", touch="personal_welcome")
    s1.email(1, "personal_welcome_reminder", "csm")  # internal: not a customer touch
    s1.email(1, "setup_day1", "champion").log(2, "phase", "early_training").log(9, "phase", "adoption_support")
    s1.log(10, "event", "key_action", "Published the booking page", action="booking_page_published")
    s1.log(30, "phase", "success_validation").email(30, "success_survey", "champion")
    s1.log(31, "event", "survey_answer", "goal reached: yes; CSAT 5; CES 2", goal_reached=True, csat=5, ces=2)
    s1.log(31, "completed", "onboarding_complete")

    s2 = start("s2", "smb", 50, now).log(0, "phase", "self_serve_setup").email(3, "setup_day3", "billing")
    s2.log(5, "phase", "early_training").log(20, "completed", "onboarding_complete")
    s2.log(
        35, "event", "key_action", "booking_page_published", action="booking_page_published"
    )  # after the 30-day window

    s3 = start("s3", "smb", 40, now).log(0, "phase", "self_serve_setup").log(4, "phase", "early_training")
    s3.log(12, "cancelled", "churned", "went back to spreadsheets")

    m3 = start("m3", "mid_market", 20, now).log(0, "phase", "kickoff_planning")
    m3.log(6, "health", "yellow", "no activity for 5 days")
    m3.escalate(7, "No login 7 days after signing").escalate(14, "No activity for 10 days")

    s4 = start("s4", "smb", 10, now, company="Smith & Sons <Dental>").log(0, "phase", "self_serve_setup")
    s4.log(9.9, "health", "red", "no activity for 10 days").escalate(9.9, "No activity for 10 days")

    start("s5", "smb", 5, now).log(0, "phase", "self_serve_setup").log(2, "paused", "paused", "budget freeze")


def report(url: str, since: datetime | None = None, segment: Any = None) -> kpi.Report:
    with Session(engine(url)) as db:
        return kpi.report(db, NOW, since, segment)


def test_kpis_of_the_seeded_onboardings_equal_the_figures_worked_out_by_hand(db_url: str) -> None:
    seed()
    r = report(db_url)

    assert r.totals.model_dump() == {
        "started": 8,
        "active": 2,  # s4, m3
        "paused": 1,  # s5
        "completed": 4,  # s1, s2, m1, m2
        "cancelled": 1,  # s3
        # Past their standard length (smb 30 days, mid-market 60): m1, m2, s1, s2, s3; 4 completed.
        "completion": {"count": 4, "of": 5, "percent": 80.0},
        "within_length": 3,  # m3 (20 of 60 days), s4 (10 of 30), s5 (5 of 30): not counted
    }
    smb, mid, ent = r.segments
    assert (smb.segment, mid.segment, ent.segment) == ("smb", "mid_market", "enterprise")
    assert (smb.counts.started, smb.counts.completed, smb.counts.completion.percent) == (5, 2, 66.7)
    assert smb.counts.within_length == 2
    assert smb.ttfv_days == [20.0, 31.0]
    assert (smb.ttfv_median_days, smb.ttfv_p90_days) == (25.5, 31.0)
    # s1 acted on day 10: activated. s2 only on day 35, s3 cancelled: not. s4, s5 still inside 30 days.
    assert smb.activation.model_dump() == {"count": 1, "of": 3, "percent": 33.3}
    assert [(p.phase, p.finished, round(p.mean_days, 3)) for p in smb.phases] == [
        ("self_serve_setup", 3, round((2 + 5 + 4) / 3, 3)),
        ("early_training", 3, (7 + 15 + 8) / 3),
        ("adoption_support", 1, 21.0),
        ("success_validation", 1, 1.0),
    ]
    assert (mid.counts.started, mid.counts.completed, mid.counts.completion.percent) == (3, 2, 100.0)
    assert mid.counts.within_length == 1
    assert (mid.ttfv_days, mid.ttfv_median_days, mid.ttfv_p90_days) == ([45.0, 50.0], 47.5, 50.0)
    assert mid.activation.model_dump() == {"count": 1, "of": 2, "percent": 50.0}  # m3 is undecided
    assert [(p.phase, p.finished, p.mean_days) for p in mid.phases] == [
        ("kickoff_planning", 2, (10 + 45) / 2),
        ("implementation", 1, 40.0),
    ]
    assert (ent.counts.started, ent.ttfv_median_days, ent.activation.percent, ent.phases) == (0, None, None, [])

    assert r.escalations.model_dump() == {"count": 3, "of": 8, "percent": 37.5}  # s4, m2, m3
    assert [(c.reason, c.count) for c in r.top_reasons] == [
        ("No activity for 10 days", 2),
        ("No login 7 days after signing", 1),
        ("Success survey: the customer has not reached their goal", 1),
    ]
    # Emails to the customer side: m1 2, s1 3, s2 1. By a person: m1's kickoff, s1's personal welcome.
    assert r.automation.model_dump() == {"count": 6, "of": 8, "percent": 75.0}
    assert r.survey.model_dump() == {
        "answers": 3,
        "goal_reached": {"count": 2, "of": 3, "percent": 66.7},
        "csat_average": 4.0,
        "csat_satisfied": {"count": 1, "of": 2, "percent": 50.0},
        "ces_average": 3.0,
    }
    assert [(a.account_id, a.owner, a.health, a.open_escalations, a.reason) for a in r.at_risk] == [
        ("m3", "csm-m", "yellow", 2, "No login 7 days after signing"),
        ("s4", "csm-s", "red", 1, "No activity for 10 days"),
    ]
    assert [(p.staff_id, p.load, p.capacity) for p in r.people] == [
        ("mgr", 3, 100),
        ("csm-m", 1, 5),
        ("csm-s", 2, 2),
        ("is-m", 1, 5),
    ]
    # Starts in the last 13 weeks: smb 5, mid-market 2 (m1 is older), enterprise 0.
    assert [
        (f.segment, f.role, f.starts_per_quarter, f.concurrent, f.capacity_each, f.needed, f.have) for f in r.forecast
    ] == [
        ("smb", "csm", 5.0, round(5 * 30 / 91, 1), 2.0, 1, 1),
        ("mid_market", "csm", 2.0, round(2 * 60 / 91, 1), 5.0, 1, 1),
        ("mid_market", "implementation_specialist", 2.0, round(2 * 60 / 91, 1), 5.0, 1, 1),
        ("enterprise", "csm", 0.0, 0.0, 12.0, 0, 0),  # nobody serves enterprise: DOMAIN.md's typical 12
        ("enterprise", "implementation_specialist", 0.0, 0.0, 12.0, 0, 0),
    ]


def test_since_and_segment_narrow_the_cohort(db_url: str) -> None:
    seed()
    r = report(db_url, since=NOW - timedelta(days=45), segment="smb")  # s3, s4, s5

    assert [s.segment for s in r.segments] == ["smb"]
    assert (r.totals.started, r.totals.cancelled, r.totals.paused, r.totals.active, r.totals.completed) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert r.totals.completion.percent == 0.0
    assert r.segments[0].activation.model_dump() == {"count": 0, "of": 1, "percent": 0.0}
    assert r.escalations.model_dump() == {"count": 1, "of": 3, "percent": 33.3}
    assert (r.automation.of, r.survey.answers) == (0, 0)
    assert [p.staff_id for p in r.people] == ["mgr", "csm-s"]
    # 3 starts in 45 days = 6.07 a quarter; 30-day onboardings keep 2.0 running; 2 each -> 1 CSM.
    [f] = r.forecast
    assert (f.starts_per_quarter, f.concurrent, f.needed) == (round(3 * 91 / 45, 1), 2.0, 1)


def test_since_must_be_in_the_past(db_url: str) -> None:
    with pytest.raises(ValueError, match="since: expected a time before 2026-06-01 12:00 UTC, got 2026-07-01"):
        report(db_url, since=NOW + timedelta(days=30))


def test_capacity_forecast_is_littles_law() -> None:
    """DOMAIN.md's example: 50 new mid-market customers a quarter, 8-week onboardings, 10 active each."""
    pool = [
        Staff(
            id="is-a",
            name="A",
            email="a@v.example",
            role="implementation_specialist",
            segments=["mid_market"],
            capacity=10,
        )
    ]
    for starts, running, needed in ((50, 30.8, 4), (100, 61.5, 7), (200, 123.1, 13)):
        [_, specialists] = capacity.forecast("mid_market", starts, capacity.QUARTER, pool, timedelta(weeks=8))
        # starts x 8/13 weeks run at once (Little's law), 10 per specialist, rounded up
        assert (specialists.concurrent, specialists.needed, specialists.have) == (running, needed, 1)
    assert specialists.sentence() == (
        "200 new mid-market customers a quarter, 56-day onboardings, 10 active each "
        "-> 13 implementation specialists (you have 1)"
    )
    [one] = capacity.forecast("smb", 1, capacity.QUARTER, [], timedelta(days=30))
    assert one.sentence() == "1 new SMB customer a quarter, 30-day onboardings, 60 active each -> 1 CSM (you have 0)"


async def test_the_report_reads_what_a_real_onboarding_recorded(
    env: WorkflowEnvironment, onboard: Any, settings: Settings
) -> None:
    """The SMB happy path on the time-skipping server, then the report over its records."""
    run = await onboard("smb")
    await env.sleep(timedelta(hours=4))
    await run.act(HumanTouch(touch="personal_welcome", by="csm-leo"))
    await env.sleep(timedelta(hours=8))
    await run.event("first_login")
    await env.sleep(timedelta(days=2))
    await run.act(ModuleCompleted(module="quick_start"))
    await env.sleep(timedelta(days=1))
    await run.event("key_action", action="booking_page_published")
    await env.sleep(timedelta(days=27))
    await run.event("survey_answer", goal_reached=True, csat=5, ces=2)
    await env.sleep(timedelta(hours=1))
    status = await run.status()

    with Session(engine(settings.database_url)) as db:
        r = kpi.report(db, await env.get_current_time())
    customer_emails = [e for e in run.emails() if e[2] not in VENDOR_ROLES]
    smb = r.segments[0]
    assert (r.totals.started, r.totals.completed, r.totals.completion.percent) == (1, 1, 100.0)
    assert status.days_to_first_value is not None
    assert smb.ttfv_median_days == pytest.approx(status.days_to_first_value, abs=0.01)
    assert smb.activation.model_dump() == {"count": 1, "of": 1, "percent": 100.0}
    assert r.automation.model_dump()["count"] == len(customer_emails) > 5
    assert r.automation.of == len(customer_emails) + 1  # the CSM's personal welcome
    assert (r.survey.answers, r.survey.csat_average, r.survey.ces_average) == (1, 5.0, 2.0)
    assert [p.phase for p in smb.phases] == [h.name for h in run.timeline("phase")]
    assert sum(p.mean_days for p in smb.phases) == pytest.approx(status.days_to_first_value, abs=0.01)
    assert r.at_risk == []
