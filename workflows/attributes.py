"""The typed search attributes ops filter on in the Temporal UI. Never personal data."""

from temporalio.common import SearchAttributeKey

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
