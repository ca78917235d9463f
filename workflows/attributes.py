"""The typed search attributes ops filter on in the Temporal UI. Never personal data."""

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeKey

from onboarding.journey import Journey

SEGMENT = SearchAttributeKey.for_keyword("OnboardingSegment")
PHASE = SearchAttributeKey.for_keyword("OnboardingPhase")
HEALTH = SearchAttributeKey.for_keyword("OnboardingHealth")
OWNER = SearchAttributeKey.for_keyword("OnboardingOwner")
DUE_AT = SearchAttributeKey.for_datetime("OnboardingDueAt")
ESCALATED = SearchAttributeKey.for_bool("OnboardingEscalated")
PAUSED = SearchAttributeKey.for_bool("OnboardingPaused")
NEXT_ACTION = SearchAttributeKey.for_keyword("OnboardingNextAction")
"""The rule that acts next (`setup_day1`, `weekly_sync`): a rule's id, never a person's."""
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("OnboardingNextActionAt")
PLAYBOOK = SearchAttributeKey.for_keyword("OnboardingPlaybook")
"""The playbook version the onboarding follows: `label@hash`, or the content hash alone."""

ALL = (SEGMENT, PHASE, HEALTH, OWNER, DUE_AT, ESCALATED, PAUSED, NEXT_ACTION, NEXT_ACTION_AT, PLAYBOOK)


def next_action(j: Journey, now: datetime) -> dict[Any, Any]:
    """What the onboarding does next and when: a timer's rule id, else the check-in, the pause's
    end or 'check' (a health or phase date); an ended onboarding keeps its last time."""
    wake = j.next_wake(now)
    if wake is None:
        return {NEXT_ACTION: "none"}
    due = j.next_due()[:1]
    if due and due[0].at == wake:
        name = due[0].key.rsplit(".", 1)[-1]
    elif j.p.outcome == "completed":
        name = "check_in"
    else:
        name = "pause_ends" if j.paused else "check"
    return {NEXT_ACTION: name, NEXT_ACTION_AT: wake}
