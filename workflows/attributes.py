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
    """The rule that acts next and when; after onboarding, the next check-in. While nothing is
    scheduled (a pause, a phase waiting on the customer) the last values stay: they change only
    when the plan does, so the history does not grow by an upsert on every wake."""
    due = j.next_due()[:1]
    if due:
        return {NEXT_ACTION: due[0].key.rsplit(".", 1)[-1], NEXT_ACTION_AT: due[0].at}
    check_in = j.next_check_in()
    return {NEXT_ACTION: "check_in", NEXT_ACTION_AT: check_in} if check_in else {}
