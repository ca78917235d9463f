"""The third lane: telling the tools a CS team already works in (chat, the CRM) what happened.

Only onboardings started with chat configured post their tasks to Slack or Teams, and only
those started from a CRM deal write back to it, so an engine without integrations spends no
history on them. A chat or CRM outage never holds up emails or records, and never jams the
onboarding: a notice that fails five times is logged and left.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.crm import STATUS_OF, Crm
    from activities.notices import NOTICES
    from onboarding.effects import Effect, TimelineEntry

TIMEOUT = timedelta(seconds=60)
RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=5,
    non_retryable_error_types=["ChatRefused", "CrmRefused"],
)


def for_outside(effects: list[Effect], chat: bool, crm: bool) -> list[Effect]:
    """The effects the outside tools hear about."""
    told: list[Effect] = []
    for e in effects:
        if (chat and type(e) in NOTICES) or (crm and isinstance(e, TimelineEntry) and e.kind in STATUS_OF):
            told.append(e)
    return told


async def tell(effects: list[Effect]) -> None:
    """Perform one notice or CRM write; a failure is logged (no personal data) and left."""
    for effect in effects:
        try:
            if isinstance(effect, TimelineEntry):
                await workflow.execute_activity_method(
                    Crm.sync_deal,
                    effect,
                    start_to_close_timeout=TIMEOUT,
                    retry_policy=RETRY,
                    summary="Write the onboarding's phase and status to the CRM deal",
                )
                continue
            method, summary = NOTICES[type(effect)]
            await workflow.execute_activity_method(
                method, effect, start_to_close_timeout=TIMEOUT, retry_policy=RETRY, summary=summary
            )
        except ActivityError as err:
            workflow.logger.warning("outside tool not told (%s): %s", type(effect).__name__, type(err.cause).__name__)
