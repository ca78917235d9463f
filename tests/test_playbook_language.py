"""The playbook language's rules on the pure journey, without Temporal: each construct in milliseconds.

Timers from any fact, bounded cadences, conditions, deadlines, the overdue rule, reactions,
metrics and measured success, staff tasks and claims, contact pressure in the recipient's time
zone, every locale, the customer's own actions and the plan they see.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from onboarding import playbook
from onboarding.conditions import parse_condition
from onboarding.effects import CancelRequest, EmailRequest, EscalationRequest, TimelineEntry
from onboarding.journey import Journey, Refused
from onboarding.journey.plan import plan
from onboarding.messages import (
    ApproveInvite,
    Cancel,
    ClaimEscalation,
    CompleteStep,
    HandStep,
    Invite,
    KickoffDone,
    MarkStuck,
    ProductEvent,
    RequestPause,
    ScheduleKickoff,
    SkipStep,
)
from onboarding.playbook import Pressure, Timer
from tests.test_journey import DAY, SIGNED, emails, journey

HOUR = timedelta(hours=1)


def run(j: Journey, until: datetime, start: datetime = SIGNED) -> list[tuple[float, str, str]]:
    """Let the clock run from `start` to `until`; (day, template, role) of every email, in order."""
    sent, at = [], start
    while (wake := j.next_wake(at)) is not None and wake <= until:
        at = wake
        sent += [(round((at - SIGNED) / DAY, 2), t, r) for t, r in emails(j.tick(at))]
    return sent


def with_timer(j: Journey, **timer: Any) -> Journey:
    """The journey with one more playbook-wide timer."""
    extra = Timer.model_validate({"id": "extra", **timer})
    j.playbook = j.playbook.model_copy(update={"timers": (*j.playbook.timers, extra)})
    return j


# ---- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [
        ("csat >= high", "'csat >= high': >= compares numbers, got 'high'"),
        ("kickoff done", "is not a condition; expected a fact ('kickoff_done', 'not first_login')"),
        ("kickoff_done older than week", "expected a duration like '24h', '3d' or '2w', got 'week'"),
    ],
)
def test_a_condition_that_cannot_be_read_says_what_was_expected(phrase: str, problem: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_condition(phrase, playbook.parse_duration)
    assert problem in str(info.value)


def test_conditions_read_facts_ages_quiet_and_metrics() -> None:
    j = journey()
    j.apply(ProductEvent(name="first_login"), SIGNED + DAY)
    holds = {
        text: parse_condition(text, playbook.parse_duration).holds(j, SIGNED + 5 * DAY)
        for text in (
            "first_login",
            "not first_login",
            "first_login older than 3d",
            "first_login newer than 3d",
            "no activity for 4d",
            "activity within 4d",
            "qualified_leads >= 10",
            "not qualified_leads >= 10",
        )
    }
    assert holds == {
        "first_login": True,
        "not first_login": False,
        "first_login older than 3d": True,
        "first_login newer than 3d": False,
        "no activity for 4d": True,
        "activity within 4d": False,
        "qualified_leads >= 10": False,  # nobody reported it: a comparison fails
        "not qualified_leads >= 10": True,
    }


# ---- timers -------------------------------------------------------------------------------


def test_a_cadence_from_a_fact_waits_for_it_and_is_bounded_by_for() -> None:
    j = with_timer(
        journey(), since="kickoff_done", after="2d", every="2d", **{"for": "6d"}, send={"template": "x", "to": "csm"}
    )
    assert all(d.key != "extra" for d in j.next_due())  # no kickoff yet: not armed
    j.apply(KickoffDone(), SIGNED + 3 * DAY)
    extra = [d for d, t, _ in run(j, SIGNED + 20 * DAY, SIGNED + 3 * DAY) if t == "x"]
    assert extra == [5, 7, 9]  # 2, 4 and 6 days after the kickoff: `for: 6d` ends it


def test_when_skips_one_occurrence_and_the_cadence_goes_on() -> None:
    j = with_timer(
        journey(),
        since="signed",
        after="1d",
        every="1d",
        times=4,
        when=["activity within 1d"],
        send={"template": "x", "to": "champion"},
    )
    j.apply(ProductEvent(name="first_login"), SIGNED + 1.5 * DAY)
    # days 1, 3 and 4 were quiet; day 2 waits 12 hours after the quick-start guide (pressure.window)
    assert [d for d, t, _ in run(j, SIGNED + 6 * DAY) if t == "x"] == [2.5]


def test_during_scopes_a_playbook_wide_timer_to_its_phases() -> None:
    j = with_timer(
        journey(), since="signed", every="1d", during=["early_training"], send={"template": "x", "to": "champion"}
    )
    assert [t for _, t, _ in run(j, SIGNED + 2 * DAY)].count("x") == 0  # still in self-serve setup
    j.apply(ProductEvent(name="first_login"), SIGNED + 2.5 * DAY)  # setup done: early training begins
    assert [t for _, t, _ in run(j, SIGNED + 5 * DAY, SIGNED + 2.5 * DAY)].count("x") == 3


def test_a_deadline_moves_a_phase_on_that_its_exit_would_hold_forever() -> None:
    j = journey()
    j.apply(ProductEvent(name="first_login"), SIGNED + DAY)
    j.apply(SkipStep(step="quick_start"), SIGNED + DAY)  # adoption begins; no key action ever comes
    run(j, SIGNED + 29 * DAY, SIGNED + DAY)
    assert j.phase.id == "adoption_support"
    run(j, SIGNED + 31 * DAY, SIGNED + 29 * DAY)
    assert j.phase.id == "success_validation" and j.p.deadlines_hit == ["adoption_support"]


def test_a_silent_smb_plan_is_overdue_at_its_length_and_success_closes_that() -> None:
    j = journey()
    sent = run(j, SIGNED + 30 * DAY)
    assert j.has("overdue") and any(e.problem == "overdue" for e in j.open_escalations())
    assert (30, "success_survey", "champion") in sent
    j.apply(ProductEvent(name="survey_answer", goal_reached=True, csat=5), SIGNED + 31 * DAY)
    assert j.p.outcome == "completed" and not any(e.problem == "overdue" for e in j.open_escalations())


# ---- reactions ----------------------------------------------------------------------------


def test_a_cancellation_reacts_on_its_reason_and_its_last_words_still_go() -> None:
    churned, lost = journey(), journey()
    said = emails(churned.apply(Cancel(reason="churned"), SIGNED + DAY))
    assert said == [("exit_interview", "champion")]
    assert emails(lost.apply(Cancel(reason="lost"), SIGNED + DAY)) == []
    with pytest.raises(Refused, match="already cancelled"):
        churned.apply(Cancel(reason="churned", id="again"), SIGNED + DAY)


def test_a_skipped_step_is_reminded_unless_it_was_done_meanwhile() -> None:
    j = journey()
    j.apply(SkipStep(step="invite_team"), SIGNED + DAY)
    j.apply(SkipStep(step="connect_integration"), SIGNED + DAY)
    j.apply(ProductEvent(name="integration_connected"), SIGNED + 2 * DAY)
    reminders = [d for d, t, _ in run(j, SIGNED + 8 * DAY, SIGNED + 2 * DAY) if t == "step_skipped_reminder"]
    assert reminders == [6]


# ---- metrics and measured success ---------------------------------------------------------


def test_per_user_metrics_make_a_share_and_agreed_criteria_complete_the_onboarding() -> None:
    j = journey()
    j.contract = j.contract.model_copy(update={"seats": 5, "success_criteria": ["first_workflow", "team_active"]})
    j.apply(ProductEvent(name="key_action", action="workflow_live"), SIGNED + DAY)
    for n, user in enumerate(["u1", "u2", "u3", "u3"]):
        j.apply(ProductEvent(name="metric", metric="active", value=1, user=user), SIGNED + (2 + n) * DAY)
    assert j.metric("active.users") == 3 and j.metric("active.share") == 0.6 and j.p.outcome == "active"
    j.apply(ProductEvent(name="metric", metric="active", value=1, user="u4"), SIGNED + 9 * DAY)
    assert j.p.outcome == "completed" and j.days_to_first_value() == 9
    assert j.has("criterion:first_workflow") and j.has("criterion:team_active")


def test_a_metric_event_names_its_metric_and_value() -> None:
    with pytest.raises(ValueError, match="metric: a metric event needs the metric's name and its value"):
        ProductEvent(name="metric", metric="qualified_leads")


# ---- staff tasks and claims ---------------------------------------------------------------


def test_a_staff_task_is_not_a_problem_until_it_is_overdue() -> None:
    j = journey("mid_market")
    effects = j.apply(RequestPause(by="customer:maya@northwind.example", reason="Year-end freeze"), SIGNED + DAY)
    [task] = [e for e in effects if isinstance(e, EscalationRequest)]
    assert task.kind == "task" and task.due_at == SIGNED + 2 * DAY and ("task", "csm") in emails(effects)
    assert j.health(SIGNED + DAY + HOUR)[0] == "green"
    assert j.health(SIGNED + 2 * DAY + HOUR) == ("red", f"overdue task: {task.reason}")


def test_an_unclaimed_escalation_goes_up_and_a_claimed_one_stays() -> None:
    j = journey("enterprise")
    run(j, SIGNED + 7 * DAY)
    [no_login] = [e for e in j.open_escalations() if e.rule == "no_login_7d"]
    assert no_login.assignee == "csm-leo"
    sent = run(j, SIGNED + 7 * DAY + 5 * HOUR, SIGNED + 7 * DAY)
    assert (
        no_login.assignee == "mgr-elena"
        and no_login.escalated_up
        and ("escalation", "cs_manager") in [(t, r) for _, t, r in sent]
    )
    with pytest.raises(Refused, match="no open escalation 'nope'"):
        j.check(ClaimEscalation(by="csm-leo", escalation="nope"), SIGNED + 8 * DAY)


# ---- contact pressure ---------------------------------------------------------------------


def test_two_touches_for_one_person_are_spaced_by_the_window_and_the_same_one_merged() -> None:
    j = journey("mid_market")  # welcome and the kickoff invitation both go at signing: 4 h apart
    sent = run(j, SIGNED + HOUR * 5)
    assert [(t, r) for _, t, r in sent] == [("kickoff_invitation", "champion")]
    assert j.p.last_emailed[j.contract.contact("champion").email] == SIGNED + 4 * HOUR


def test_quiet_hours_and_business_days_follow_the_recipient_time_zone() -> None:
    j = journey()
    j.contract = j.contract.model_copy(update={"timezone": "Asia/Kuala_Lumpur"})  # UTC+8
    rule = Pressure(quiet_from=time(20), quiet_until=time(8), business_days=True)
    j.playbook = j.playbook.model_copy(update={"pressure": rule})
    friday_night = datetime(2026, 3, 6, 14, tzinfo=UTC)  # Fri 22:00 in Kuala Lumpur, 14:00 for the CSM
    effects = j.apply(MarkStuck(step="connect_integration", reason="no calendar"), friday_night)
    assert emails(effects) == [("escalation", "csm")]  # the CSM's afternoon: the notice goes now
    [deferred] = j.p.deferred
    assert (deferred.email.template, deferred.not_before) == ("stuck_help", datetime(2026, 3, 9, 0, tzinfo=UTC))
    assert [e.name for e in effects if isinstance(e, TimelineEntry) and e.kind == "deferred"] == ["stuck_help"]
    assert emails(j.tick(datetime(2026, 3, 8, 23, tzinfo=UTC))) == []
    assert emails(j.tick(datetime(2026, 3, 9, 0, tzinfo=UTC))) == [("stuck_help", "champion")]  # Monday 08:00 there


# ---- every locale -------------------------------------------------------------------------


def test_texts_reach_each_reader_in_their_own_language() -> None:
    j = journey()
    j.contract = j.contract.model_copy(update={"locale": "ru"})
    assert j.p.team is not None
    j.p.team = j.p.team.model_copy(update={"csm": j.p.team.csm.model_copy(update={"locale": "ms"})})
    effects = j.apply(MarkStuck(step="connect_integration", reason="no calendar"), SIGNED + DAY)
    by_template = {e.template: e for e in effects if isinstance(e, EmailRequest)}
    notice = by_template["escalation"]
    assert notice.locale == "ms" and notice.to.locale == "ms"
    [opened] = [e for e in effects if isinstance(e, EscalationRequest)]
    assert opened.reason.startswith("Connect your first integration is stuck")  # records: English
    help_ = by_template["stuck_help"]
    assert help_.locale == "ru" and help_.context["phase"] == "Самостоятельная настройка"


# ---- the customer's own actions and plan --------------------------------------------------


def test_a_customer_acts_only_on_their_own_plan_and_within_what_a_person_may_confirm() -> None:
    j = journey()
    priya = "customer:priya@brightpath.example"
    with pytest.raises(Refused, match="this person is not on this onboarding's plan"):
        j.check(SkipStep(step="invite_team", by="customer:eve@evil.example"), SIGNED + DAY)
    with pytest.raises(Refused, match="is done in the product itself"):
        j.check(CompleteStep(step="log_in", by=priya), SIGNED + DAY)
    with pytest.raises(Refused, match="only the CSM can do this"):
        j.check(KickoffDone(by=priya), SIGNED + DAY)
    with pytest.raises(Refused, match="that address is not on this onboarding's plan"):
        j.check(HandStep(step="invite_team", to="stranger@elsewhere.example", by=priya), SIGNED + DAY)
    j.apply(HandStep(step="invite_team", to="tom@brightpath.example", by=priya), SIGNED + DAY)
    j.apply(MarkStuck(step="connect_integration", reason="no calendar", by=priya), SIGNED + DAY)
    steps = {s.id: s for p in plan(j).phases for s in p.steps}
    assert steps["invite_team"].owner == "tom@brightpath.example"
    assert (steps["connect_integration"].state, steps["connect_integration"].stuck_reason) == ("stuck", "no calendar")
    assert steps["log_in"].confirmable is False and steps["invite_team"].skippable


def test_an_invitation_outside_the_company_waits_for_the_csm() -> None:
    j = journey()
    priya = "customer:priya@brightpath.example"
    effects = j.apply(Invite(step="invite_team", name="Kim", email="kim@agency.example", by=priya), SIGNED + DAY)
    assert not any(e.template == "colleague_invitation" for e in effects if isinstance(e, EmailRequest))
    assert [e.kind for e in effects if isinstance(e, EscalationRequest)] == ["task"]
    effects = j.apply(ApproveInvite(email="kim@agency.example", by="csm-leo"), SIGNED + 2 * DAY)
    assert ("colleague_invitation", "colleague") in emails(effects)
    assert not [e for e in j.open_escalations() if e.problem == "approve_invite"]


def test_a_kickoff_moved_keeps_its_calendar_uid_and_raises_the_sequence_and_a_cancel_cancels_it() -> None:
    j = journey("mid_market")
    with pytest.raises(Refused, match="at: expected a time in the future"):
        j.check(ScheduleKickoff(at=SIGNED), SIGNED + DAY)
    sent: list[EmailRequest] = []

    def until(at: datetime) -> None:
        while (wake := j.next_wake(SIGNED)) is not None and wake <= at:
            sent.extend(e for e in j.tick(wake) if isinstance(e, EmailRequest))

    for n, day in enumerate((3, 4)):
        until(SIGNED + (1 + n) * DAY)
        effects = j.apply(ScheduleKickoff(at=SIGNED + day * DAY, id=f"k{n}"), SIGNED + (1 + n) * DAY)
        sent += [e for e in effects if isinstance(e, EmailRequest)]
    until(SIGNED + 2.4 * DAY)
    effects = j.apply(Cancel(reason="duplicate"), SIGNED + 2.5 * DAY)
    invites = [e.calendar for e in [*sent, *effects] if isinstance(e, EmailRequest) and e.calendar]
    assert [(i.sequence, i.method) for i in invites] == [(0, "REQUEST"), (1, "REQUEST"), (2, "CANCEL")]
    assert len({i.uid for i in invites}) == 1 and invites[1].start == SIGNED + 4 * DAY
    [cancel] = [e for e in effects if isinstance(e, CancelRequest)]
    assert any("kickoff_cancelled" in key for key in cancel.keep)
