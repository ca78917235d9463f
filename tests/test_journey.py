"""The journey's rules, without Temporal: messages, races, repeats, failures and the clock, in milliseconds."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import starter
from onboarding import playbook
from onboarding.effects import (
    Assignment,
    CancelRequest,
    EmailRequest,
    EscalationRepeat,
    EscalationRequest,
    ResolveRequest,
    TimelineEntry,
)
from onboarding.journey import EmailFailed, Journey, OwnerFound, Progress, Refused, TeamAssigned, view
from onboarding.messages import (
    Cancel,
    CompleteStep,
    CorrectContact,
    EmailFeedback,
    KickoffDone,
    Pause,
    ProductEvent,
    Reassign,
    ResolveEscalation,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
)
from onboarding.models import StaffMember, Team

ROOT = Path(__file__).resolve().parent.parent
SIGNED = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAY = timedelta(days=1)
LEO = StaffMember(id="csm-leo", name="Leo Martin", email="leo@vendor.example")
ELENA = StaffMember(id="mgr-elena", name="Elena Petrova", email="elena@vendor.example")
SITI = StaffMember(id="csm-siti", name="Siti Rahman", email="siti@vendor.example")
TEAM = Team(csm=LEO, cs_manager=ELENA)


def journey(segment: str = "smb", team: Team | None = TEAM) -> Journey:
    """A journey signed at SIGNED with its team assigned, as the workflow starts it."""
    contract = starter.parse_contract((ROOT / "contracts" / f"{segment}.json").read_text(), now=SIGNED)
    contract = contract.model_copy(update={"signed_at": SIGNED})
    j = Journey(
        contract,
        playbook.for_segment(contract.picked_segment()),
        Progress(ref="onboarding-x.abcd1234", phase_started_at=SIGNED, last_activity_at=SIGNED),
    )
    unassigned = None if team else "no CSM serves smb within capacity"
    j.apply(TeamAssigned(assignment=Assignment(team=team, unassigned=unassigned, cs_manager=ELENA)), SIGNED)
    return j


def emails(effects: list) -> list[tuple[str, str]]:
    return [(e.template, e.to.role) for e in effects if isinstance(e, EmailRequest)]


def test_signing_welcomes_the_customer_and_records_the_first_phase() -> None:
    j = journey()
    assert j.p.signed_in and view.status(j, SIGNED).owner == "csm-leo"
    fresh = Journey(j.contract, j.playbook, Progress(ref="r", phase_started_at=SIGNED, last_activity_at=SIGNED))
    effects = fresh.apply(TeamAssigned(assignment=Assignment(team=TEAM)), SIGNED)
    assert ("welcome", "champion") in emails(effects)
    assert [e.name for e in effects if isinstance(e, TimelineEntry)] == ["self_serve_setup"]
    assert all(e.key.startswith("r/") for e in effects if isinstance(e, EmailRequest))


def test_a_second_resume_in_the_same_task_is_refused_not_asserted() -> None:
    j = journey()
    j.apply(Pause(reason="Budget freeze", id="p1"), SIGNED + DAY)
    j.check(Resume(id="r1"), SIGNED + 2 * DAY)
    j.check(Resume(id="r2"), SIGNED + 2 * DAY)  # both pass validation before either is applied
    j.apply(Resume(id="r1"), SIGNED + 2 * DAY)
    with pytest.raises(Refused, match="the onboarding is not paused"):
        j.apply(Resume(id="r2"), SIGNED + 2 * DAY)
    assert len(j.p.pauses) == 1


def test_the_same_action_sent_twice_is_applied_once() -> None:
    j = journey("mid_market")
    first = j.apply(KickoffDone(notes="Goals agreed", id="cmd-1"), SIGNED + DAY)
    assert first and j.has("kickoff_done")
    j.check(KickoffDone(id="cmd-1"), SIGNED + 2 * DAY)  # a repeat is not refused: it is answered
    assert j.apply(KickoffDone(notes="Goals agreed", id="cmd-1"), SIGNED + 2 * DAY) == []
    with pytest.raises(Refused, match="kickoff is already recorded as done"):
        j.apply(KickoffDone(id="cmd-2"), SIGNED + 2 * DAY)


def test_a_redelivered_event_is_applied_once_and_kinds_do_not_collide() -> None:
    j = journey()
    assert j.apply(ProductEvent(name="first_login", id="e1"), SIGNED + DAY)
    assert j.apply(ProductEvent(name="first_login", id="e1"), SIGNED + DAY) == []
    assert j.apply(EmailFeedback(kind="open", id="e1"), SIGNED + DAY)  # another kind, another id space


def test_cancel_wins_over_a_racing_success_and_is_terminal() -> None:
    j = journey()
    j.check(SuccessCriteriaMet(evidence="live"), SIGNED + DAY)
    effects = j.apply(Cancel(reason="duplicate", by="csm-leo"), SIGNED + DAY)
    cancel = [e for e in effects if isinstance(e, CancelRequest)]
    assert cancel and cancel[0].key_prefix == "onboarding-x.abcd1234/"
    with pytest.raises(Refused, match="the onboarding is cancelled"):
        j.apply(SuccessCriteriaMet(evidence="live"), SIGNED + DAY)
    assert j.p.outcome == "cancelled" and j.p.completed_at is None
    assert emails(j.tick(SIGNED + 60 * DAY)) == []  # no timer, no check-in, ever
    assert j.next_wake(SIGNED + DAY) is None


def test_cancel_closes_open_escalations() -> None:
    j = journey()
    j.tick(SIGNED + 8 * DAY)  # the no-login and personal-welcome escalations open
    assert j.open_escalations()
    j.apply(Cancel(reason="churned"), SIGNED + 9 * DAY)
    assert j.open_escalations() == []


def test_skip_racing_complete_of_the_same_step_ends_done() -> None:
    j = journey()
    j.apply(CompleteStep(step="invite_team"), SIGNED + DAY)
    with pytest.raises(Refused, match="already done"):
        j.apply(SkipStep(step="invite_team"), SIGNED + DAY)
    _, _, skipped = j.steps()
    assert skipped == []


def test_a_support_ticket_burst_opens_one_escalation_and_counts_the_rest() -> None:
    j = journey()
    effects = []
    for n in range(100):
        effects += j.apply(ProductEvent(name="support_ticket", id=f"t{n}"), SIGNED + n * timedelta(minutes=28))
    opened = [e for e in effects if isinstance(e, EscalationRequest) and e.rule == "support_load"]
    repeats = [e for e in effects if isinstance(e, EscalationRepeat)]
    assert len(opened) == 1 and len(repeats) == 32  # a threshold crossed every third ticket
    assert repeats[-1].occurrences == 33 and repeats[-1].key == opened[0].key
    assert emails(effects).count(("escalation", "csm")) == 1


def test_a_refused_address_escalates_once_per_contact_until_corrected() -> None:
    j = journey()
    failures = [
        EmailFailed(key=f"r/t{n}", template=f"t{n}", role="champion", refused=True, reason="550") for n in range(5)
    ]
    effects = [e for f in failures for e in j.apply(f, SIGNED + DAY)]
    assert len([e for e in effects if isinstance(e, EscalationRequest)]) == 1
    [esc] = j.open_escalations()
    assert esc.occurrences == 5 and "python admin.py contact" in esc.reason
    effects = j.apply(CorrectContact(role="champion", email="priya.nair@brightpath.example"), SIGNED + 2 * DAY)
    assert any(isinstance(e, ResolveRequest) for e in effects) and j.open_escalations() == []
    later = [e for e in j.tick(SIGNED + 3 * DAY) if isinstance(e, EmailRequest) and e.to.role == "champion"]
    assert later and {e.to.email for e in later} == {"priya.nair@brightpath.example"}


def test_a_broken_template_escalates_naming_it_and_a_failed_notice_does_not_escalate_again() -> None:
    j = journey()
    effects = j.apply(EmailFailed(key="r/w", template="welcome", role="champion", refused=False, reason="x"), SIGNED)
    [opened] = [e for e in effects if isinstance(e, EscalationRequest)]
    assert "'welcome'" in opened.reason
    notice = EmailFailed(key="r/n", template="escalation", role="csm", refused=True, reason="550")
    assert not [e for e in j.apply(notice, SIGNED) if isinstance(e, EscalationRequest | EscalationRepeat)]


def test_an_unassigned_onboarding_tells_the_manager_and_takes_a_team_later() -> None:
    j = journey(team=None)
    [esc] = j.open_escalations()
    assert esc.problem == "unassigned" and esc.assignee == "mgr-elena"
    assert view.status(j, SIGNED).owner == "unassigned"
    effects = j.apply(TeamAssigned(assignment=Assignment(team=TEAM)), SIGNED + timedelta(hours=2))
    assert any(isinstance(e, ResolveRequest) for e in effects) and j.open_escalations() == []
    assert emails(effects) == []  # the welcome went at signing, not again
    assert view.status(j, SIGNED + DAY).owner == "csm-leo"


def test_facts_before_the_team_is_known_are_applied_when_it_is() -> None:
    contract = starter.parse_contract((ROOT / "contracts" / "smb.json").read_text(), now=SIGNED)
    j = Journey(
        contract, playbook.for_segment("smb"), Progress(ref="r", phase_started_at=SIGNED, last_activity_at=SIGNED)
    )
    assert j.apply(ProductEvent(name="survey_answer", goal_reached=False, csat=1), SIGNED) == []
    effects = j.apply(TeamAssigned(assignment=Assignment(team=TEAM)), SIGNED)
    assert {e.assignee for e in effects if isinstance(e, EscalationRequest)} == {"csm-leo"}


def test_a_reassignment_applies_once_the_roster_answers() -> None:
    j = journey()
    action = Reassign(owner="csm-siti", id="re-1")
    assert j.apply(action, SIGNED + DAY) == [] and not j.seen(action)
    effects = j.apply(OwnerFound(action=action, staff=SITI), SIGNED + DAY)
    assert [e.data for e in effects if isinstance(e, TimelineEntry)] == [{"owner": "csm-siti"}]
    assert j.seen(action) and view.status(j, SIGNED + DAY).owner == "csm-siti"
    with pytest.raises(Refused, match="csm-siti already owns"):
        j.check(Reassign(owner="csm-siti"), SIGNED + DAY)


def test_a_pause_moves_every_deadline_by_the_paused_time_and_ends_by_itself() -> None:
    j = journey()
    due = j.due_at()
    j.apply(Pause(reason="Holidays", until=SIGNED + 12 * DAY), SIGNED + 2 * DAY)
    assert j.tick(SIGNED + 11 * DAY) == [] and j.next_wake(SIGNED + 11 * DAY) == SIGNED + 12 * DAY
    effects = j.tick(SIGNED + 12 * DAY)
    assert "resumed" in [e.kind for e in effects if isinstance(e, TimelineEntry)]
    assert j.due_at() == due + 10 * DAY


def test_an_escalation_resolved_is_closed_and_a_wrong_id_is_refused_with_the_open_ones() -> None:
    j = journey()
    j.tick(SIGNED + 8 * DAY)
    open_ = [e.id for e in j.open_escalations()]
    with pytest.raises(Refused, match=f"no open escalation 'nope'; open: {open_[0]}"):
        j.check(ResolveEscalation(escalation="nope"), SIGNED + 8 * DAY)
    j.apply(ResolveEscalation(escalation=open_[0]), SIGNED + 8 * DAY)
    assert open_[0] not in [e.id for e in j.open_escalations()]


def test_a_mistyped_step_gets_a_suggestion() -> None:
    with pytest.raises(Refused, match="did you mean 'invite_team'"):
        journey().check(SkipStep(step="invite_teams"), SIGNED)


def test_after_success_check_ins_go_weekly_then_less_often() -> None:
    j = journey()
    j.apply(ProductEvent(name="survey_answer", goal_reached=True, csat=5), SIGNED + 20 * DAY)
    assert j.p.outcome == "completed"
    sent: list[tuple[int, str]] = []
    at = SIGNED + 20 * DAY
    while len(sent) < 7:
        wake = j.next_wake(at)
        assert wake is not None
        at = wake
        sent += [(round((at - SIGNED) / DAY), t) for t, _ in emails(j.tick(at))]
    assert [t for _, t in sent if t != "check_in"] == ["testimonial_request"]  # two days after success
    sent = [s for s in sent if s[1] == "check_in"]
    assert len(sent) >= 5
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(sent)]
    assert gaps == sorted(gaps) and gaps[0] == 7


def test_the_state_survives_continue_as_new() -> None:
    j = journey()
    j.apply(ProductEvent(name="first_login", id="e1"), SIGNED + DAY)
    carried = Progress.model_validate(json.loads(j.p.model_dump_json()))
    again = Journey(j.contract, j.playbook, carried)
    assert again.apply(ProductEvent(name="first_login", id="e1"), SIGNED + 2 * DAY) == []
    assert view.status(again, SIGNED + 2 * DAY) == view.status(j, SIGNED + 2 * DAY)
