"""Delivering a message from the catalogue (onboarding/messages.py) to an onboarding, by the catalogue's name.

Product events and email feedback are signals; CSM actions are updates that answer with the
onboarding's status, or fail with the journey's reason (WorkflowUpdateFailedError whose cause
is an ApplicationError). An action's `id` is also the update id: sent again with the same id,
Temporal and the journey apply it at most once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from onboarding.messages import Action, EmailFeedback, ProductEvent, kind_of
from onboarding.models import Status

STATUS_QUERY = "get_status"  # OnboardingWorkflow.get_status, by name


async def signal(handle: WorkflowHandle[Any, Any], message: ProductEvent | EmailFeedback) -> None:
    """A fact for the onboarding (fire and forget); a repeat with the same id is applied once."""
    await handle.signal(kind_of(message).name, message)


async def act(handle: WorkflowHandle[Any, Any], action: Action, rpc_timeout: timedelta | None = None) -> Status:
    """A CSM action, checked by the onboarding first: its status after the action, or its refusal."""
    name = kind_of(action).name
    status: Status = await handle.execute_update(
        name, action, id=action.id, result_type=Status, rpc_timeout=rpc_timeout
    )
    return status
