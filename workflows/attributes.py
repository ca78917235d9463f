"""The typed search attributes ops filter on in the Temporal UI, kept in step with the journey. Never personal data."""

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

from onboarding.journey import Journey, view
from onboarding.journey.state import snapshot_version

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


def show(j: Journey, now: datetime, shown: dict[str, Any], with_next_action: bool, with_playbook: bool) -> None:
    """Set the run's current details, and upsert the attributes whose value changed since `shown`
    (what this run set last, updated here): an upsert that changes nothing is never written."""
    workflow.set_current_details(view.details(j, now))
    values: dict[Any, Any] = {
        PHASE: view.phase_now(j),
        HEALTH: j.health(now)[0],
        OWNER: view.owner(j),
        DUE_AT: j.due_at(),
        ESCALATED: bool(j.open_escalations()),
        PAUSED: j.paused,
    }
    if with_next_action:
        values |= next_action(j, now)
    if with_playbook:
        values[PLAYBOOK] = snapshot_version(j.playbook)
    updates: list[SearchAttributeUpdate[Any]] = [
        key.value_set(v) for key, v in values.items() if shown.get(key.name) != v
    ]
    if updates:
        workflow.upsert_search_attributes(updates)
    shown.update({key.name: v for key, v in values.items()})
