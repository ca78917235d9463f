"""The whole journey of one onboarding as a pure, synchronous state machine.

`Journey.check(message, now)` refuses with a reason a person reads; `Journey.apply(message,
now)` changes the state and returns the effects (emails, timeline rows, human tasks);
`Journey.tick(now)` does what the clock does, and `next_wake(now)` says when to look again.
No await, no I/O, no Temporal import: the same code runs in the workflow, in replay and in
plain unit tests.
"""

from onboarding.journey.checks import Refused
from onboarding.journey.rules import Journey
from onboarding.journey.state import (
    EmailFailed,
    Escalation,
    OnboardingInput,
    OwnerFound,
    Progress,
    TeamAssigned,
)
from onboarding.journey.where import describe

__all__ = [
    "EmailFailed",
    "Escalation",
    "Journey",
    "OnboardingInput",
    "OwnerFound",
    "Progress",
    "Refused",
    "TeamAssigned",
    "describe",
]
