"""The KPI report's customer participation: figures worked out by hand from timeline rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.db import Onboarding, TimelineEvent
from reports import participation

SIGNED = datetime(2026, 3, 2, 9, tzinfo=UTC)


def onboarding(account: str, completed: bool) -> Onboarding:
    return Onboarding(
        workflow_id=f"onboarding-{account}",
        account_id=account,
        segment="smb",
        phase="x",
        owner="csm-leo",
        signed_at=SIGNED,
        completed_at=SIGNED + timedelta(days=20) if completed else None,
        updated_at=SIGNED,
    )


def action(account: str, name: str, actor: str, n: int) -> TimelineEvent:
    return TimelineEvent(key=f"{account}:{n}", account_id=account, at=SIGNED, kind="action", name=name, actor=actor)


def test_people_who_acted_completion_by_their_number_and_who_confirmed_steps() -> None:
    onboardings = [
        onboarding("a", completed=True),  # two people acted: priya twice, sam once
        onboarding("b", completed=False),  # one person
        onboarding("c", completed=True),  # nobody from the customer; the CSM confirmed a step
        onboarding("d", completed=True),  # three people
    ]
    events = [
        action("a", "complete_step", "customer:priya@a.example", 1),
        action("a", "skip_step", "customer:priya@a.example", 2),
        action("a", "complete_step", "customer:sam@a.example", 3),
        action("b", "mark_stuck", "customer:li@b.example", 1),
        action("c", "complete_step", "csm-leo", 1),
        action("c", "kickoff_done", "csm-leo", 2),
        *(action("d", "complete_step", f"customer:p{i}@d.example", i) for i in range(3)),
        action("zz", "complete_step", "customer:x@zz.example", 1),  # not in the cohort
        TimelineEvent(key="a:e", account_id="a", at=SIGNED, kind="email", name="welcome", actor="customer:odd"),
    ]
    p = participation.participation(onboardings, events)
    assert (p.with_customer_actions.count, p.with_customer_actions.of) == (3, 4)
    assert p.mean_people == 1.5  # (2 + 1 + 0 + 3) / 4
    assert [(g.people, g.onboardings, g.completion.count) for g in p.groups] == [
        ("0", 1, 1),
        ("1", 1, 0),
        ("2", 1, 1),
        ("3+", 1, 1),
    ]
    assert (p.steps_by_customer.count, p.steps_by_customer.of, p.steps_by_csm) == (5, 6, 1)
    text = "\n".join(participation.lines(p))
    assert "steps confirmed done by the customer: 83.3% (5/6); by the CSM: 1" in text
    assert "@" not in text  # people are counted, never named


def test_no_onboardings_reads_as_not_applicable() -> None:
    p = participation.participation([], [])
    assert p.mean_people is None and p.steps_by_customer.percent is None
    assert "n/a" in "\n".join(participation.lines(p))


def test_the_report_carries_the_section_in_every_format(tmp_path) -> None:
    from sqlmodel import Session

    from adapters.db import engine, upgrade
    from cli.records import text_report
    from reports import kpi, report_page

    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    with Session(engine(url)) as db:
        r = kpi.report(db, SIGNED)
    assert r.participation.onboardings == 0
    assert "Customer participation" in text_report(r)
    assert "<h2>Customer participation</h2>" in report_page.render(r)
    assert '"participation"' in r.model_dump_json()
