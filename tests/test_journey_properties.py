"""Random sequences of messages and clock advances never break the journey's invariants.

Whatever CSMs, the product and the email provider send, in whatever order: no step is both
done and pending, no email key is produced twice, deadlines move by exactly the paused time,
nothing is sent after a cancel, and the same sequence always gives the same state and effects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboarding.effects import EmailRequest
from onboarding.journey import EmailFailed, Journey, OwnerFound, Refused
from onboarding.messages import (
    Cancel,
    CompleteStep,
    CorrectContact,
    EmailFeedback,
    HumanTouch,
    KickoffDone,
    ModuleCompleted,
    Pause,
    ProductEvent,
    Reassign,
    ResolveEscalation,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
)
from tests.test_journey import SIGNED, SITI, journey

STEPS = ["log_in", "invite_team", "connect_integration", "booking_page", "nope"]
MODULES = ["quick_start", "feature_highlights", "nope"]
IDS = st.sampled_from([None, "a", "b", "c"])

MESSAGES = st.one_of(
    st.builds(ProductEvent, name=st.sampled_from(["first_login", "teammate_invited", "support_ticket"]), id=IDS),
    st.builds(ProductEvent, name=st.just("key_action"), action=st.just("booking_page_published"), id=IDS),
    st.builds(ProductEvent, name=st.just("survey_answer"), goal_reached=st.booleans(), csat=st.integers(1, 5)),
    st.builds(EmailFeedback, kind=st.sampled_from(["bounce", "open", "spam_report"]), role=st.just("champion"), id=IDS),
    st.builds(KickoffDone, id=IDS),
    st.builds(ModuleCompleted, module=st.sampled_from(MODULES), id=IDS),
    st.builds(CompleteStep, step=st.sampled_from(STEPS), id=IDS),
    st.builds(SkipStep, step=st.sampled_from(STEPS), id=IDS),
    st.builds(Pause, reason=st.just("freeze"), id=IDS),
    st.builds(Resume, id=IDS),
    st.builds(HumanTouch, touch=st.just("personal_welcome"), id=IDS),
    st.builds(SuccessCriteriaMet, evidence=st.just("live"), id=IDS),
    st.builds(Cancel, reason=st.just("churned"), id=IDS),
    st.builds(Reassign, owner=st.just("csm-siti"), id=IDS),
    st.builds(CorrectContact, role=st.just("champion"), email=st.just("new@brightpath.example")),
    st.builds(ResolveEscalation, escalation=st.sampled_from(["no_login_3d.1", "personal_welcome_overdue.1"])),
    st.builds(
        EmailFailed,
        key=st.sampled_from(["r/a", "r/b"]),
        template=st.sampled_from(["welcome", "escalation"]),
        role=st.just("champion"),
        refused=st.booleans(),
        reason=st.just("550"),
    ),
)
SCRIPT = st.lists(st.tuples(st.integers(0, 72), MESSAGES), min_size=1, max_size=40)
PROPERTIES = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def play(script: list[tuple[int, Any]]) -> tuple[Journey, list[Any], list[str]]:
    """Advance the clock by the hours given, let it tick, then deliver the message as the workflow would."""
    j, now, effects, notes = journey(), SIGNED, [], []
    for hours, message in script:
        now += timedelta(hours=hours)
        effects += j.tick(now)
        cancelled = j.p.outcome == "cancelled"
        try:
            if not isinstance(message, EmailFailed):
                j.check(message, now)
            applied = j.apply(message, now)
            if isinstance(message, Reassign) and not j.seen(message):
                applied += j.apply(OwnerFound(action=message, staff=SITI), now)
        except Refused as e:
            notes.append(str(e))
            continue
        effects += applied
        if cancelled:
            assert not [e for e in applied if isinstance(e, EmailRequest)], "mail after cancel"
        check_invariants(j)
    return j, effects, notes


def check_invariants(j: Journey) -> None:
    done, pending, skipped = j.steps()
    assert not set(done) & set(pending) and not set(done) & set(skipped)
    paused = sum((iv.end - iv.start for iv in j.p.pauses), timedelta())
    assert j.due_at() == j.signed_at + j.playbook.length + paused


@PROPERTIES
@given(script=SCRIPT)
def test_no_sequence_breaks_an_invariant(script: list[tuple[int, Any]]) -> None:
    j, effects, _ = play(script)
    keys = [e.key for e in effects if isinstance(e, EmailRequest)]
    assert len(keys) == len(set(keys)), "an email key produced twice"
    problems = [e.problem for e in j.open_escalations()]
    assert len(problems) == len(set(problems)), "two open escalations for one problem"


@PROPERTIES
@given(script=SCRIPT)
def test_the_same_sequence_gives_the_same_state_and_effects(script: list[tuple[int, Any]]) -> None:
    first, effects, notes = play(script)
    again, effects_again, notes_again = play(script)
    assert first.p == again.p and effects == effects_again and notes == notes_again
