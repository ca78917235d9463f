"""Talking to one onboarding: its updates, signals and queries, with Temporal's errors in plain words.

A rejected action prints the workflow's own reason (the update validator's message); an
account without an onboarding, an onboarding that has ended and a worker that does not
answer each get a sentence that says so, never a stack trace.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, NoReturn, TypeVar

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from cli.common import client, fail, handle
from onboarding.models import Action, ProductEvent, Status, account_of
from workflows.onboarding import OnboardingWorkflow

T = TypeVar("T")
RPC_TIMEOUT = timedelta(seconds=30)
NO_WORKER = "no worker answered within 30 seconds: is the worker running (python worker.py, or python stack.py)?"


async def gone(c: Client, account: str) -> NoReturn:
    """The onboarding cannot take the call: it never existed, or its run has ended."""
    account_id = account_of(account)
    try:
        description = await handle(c, account).describe()
    except RPCError:
        fail(f"no onboarding for account {account_id!r}")
    status = description.status.name.lower() if description.status else "closed"
    fail(f"the onboarding for {account_id} has ended ({status}); it takes no more actions or events")


async def plainly(c: Client, account: str, call: Awaitable[T]) -> T:
    """Await one call to the onboarding; any refusal becomes a sentence and a non-zero exit."""
    try:
        return await call
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or e)
        fail(f"{account_of(account)}: refused: {reason}")
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        fail(NO_WORKER)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            await gone(c, account)
        if e.status == RPCStatusCode.DEADLINE_EXCEEDED:
            fail(NO_WORKER)
        fail(f"Temporal refused the call: {e.message}")


async def update(account: str, update: Any, action: Action) -> Status:
    """Run one CSM action (a workflow update) and return where the onboarding now stands."""
    c = await client()
    call = handle(c, account).execute_update(update, action, rpc_timeout=RPC_TIMEOUT)
    result: Status = await plainly(c, account, call)
    return result


async def signal(account: str, event: ProductEvent) -> None:
    c = await client()
    await plainly(
        c, account, handle(c, account).signal(OnboardingWorkflow.product_event, event, rpc_timeout=RPC_TIMEOUT)
    )


async def status(account: str) -> tuple[Status, str]:
    """The onboarding's status and its current details (what it waits for, what it does next)."""
    c = await client()
    h = handle(c, account)
    state = await plainly(c, account, h.query(OnboardingWorkflow.get_status, rpc_timeout=RPC_TIMEOUT))
    metadata = await plainly(
        c, account, h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata, rpc_timeout=RPC_TIMEOUT)
    )
    return state, metadata.current_details
