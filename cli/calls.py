"""Talking to one onboarding: its updates, signals and queries, with Temporal's errors in plain words.

A rejected action prints the workflow's own reason (the update validator's message); an
account without an onboarding, an onboarding that has ended and a worker that does not
answer each get a sentence that says so, never a stack trace. No command waits longer than
ADMIN_TIMEOUT_SECONDS (30 by default). An action that got no answer may still be applied
when a worker takes it: the command says so, and running it again applies it at most once
(cli/journal.py keeps its id).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NoReturn, TypeVar

import typer
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from cli import journal
from cli.common import client, fail, handle, suggest
from onboarding.messages import Action, ProductEvent, kind_of
from onboarding.models import Status, account_of
from service import send

T = TypeVar("T")
UNANSWERED = 3  # the exit code of an action whose outcome is not known yet
WORKER = "is the worker running (python worker.py, or python stack.py)?"


def timeout() -> float:
    """ADMIN_TIMEOUT_SECONDS: how long any admin command waits for Temporal and the worker."""
    raw = os.environ.get("ADMIN_TIMEOUT_SECONDS", "30")
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        fail(f"ADMIN_TIMEOUT_SECONDS: expected a positive number of seconds, got {raw!r}", code=2)
    return seconds


async def accounts(c: Client) -> list[str]:
    """Every account with an onboarding, as far as the visibility store answers (a test server may not)."""
    try:
        return [account_of(wf.id) async for wf in c.list_workflows("WorkflowType = 'OnboardingWorkflow'", limit=2000)]
    except RPCError:
        return []


async def gone(c: Client, account: str) -> NoReturn:
    """The onboarding cannot take the call: it never existed, or its run has ended."""
    account_id = account_of(account)
    try:
        description = await handle(c, account).describe()
    except RPCError:
        hint = suggest(account_id, await accounts(c)) or "; `python admin.py list --all` lists every account"
        fail(f"no onboarding for account {account_id!r}{hint}")
    status = description.status.name.lower() if description.status else "closed"
    fail(f"the onboarding for {account_id} has ended ({status}); it takes no more actions or events")


async def plainly(account: str, call: Callable[[Client], Awaitable[T]], unanswered: Callable[[str], NoReturn]) -> T:
    """Connect and make one call to the onboarding within the timeout; any refusal becomes a sentence
    and a non-zero exit. No answer in time, or Ctrl-C while waiting, calls `unanswered` with the reason."""
    seconds = timeout()
    try:
        async with asyncio.timeout(seconds) as deadline:
            c = await client()
            try:
                return await call(c)
            except WorkflowUpdateFailedError as e:
                cause = e.cause
                reason = cause.message if isinstance(cause, ApplicationError) else str(cause or e)
                fail(f"{account_of(account)}: refused: {reason}")
            except RPCError as e:
                if e.status == RPCStatusCode.NOT_FOUND:
                    await gone(c, account)
                if e.status != RPCStatusCode.DEADLINE_EXCEEDED:
                    fail(f"Temporal refused the call: {e.message}")
            except WorkflowUpdateRPCTimeoutOrCancelledError:
                pass  # the deadline passed, or Ctrl-C cancelled the call
    except TimeoutError:
        pass
    task = asyncio.current_task()
    if task and task.cancelling() and not deadline.expired():  # Ctrl-C (asyncio.run cancels the command)
        unanswered("interrupted before an answer")
    unanswered(f"no answer within {seconds:g} seconds: {WORKER}")


async def update(account: str, action: Action) -> Status:
    """Run one CSM action (a workflow update, named by the catalogue) and return where the onboarding now stands.

    The action's id is the update id; an id left unanswered by an earlier run of the same
    command is sent again, so the action is applied at most once.
    """
    account_id, name = account_of(account), kind_of(action).name
    entry = journal.pending(account_id, name, action, str(uuid.uuid4()))
    action = action.model_copy(update={"id": entry.id})
    seconds = timeout()

    async def call(c: Client) -> Status:
        entry.keep(account_id, name)
        try:
            status = await send.act(handle(c, account), action, rpc_timeout=timedelta(seconds=seconds))
        except (WorkflowUpdateFailedError, RPCError) as e:
            if not isinstance(e, RPCError) or e.status == RPCStatusCode.NOT_FOUND:
                entry.forget()  # refused, or no onboarding to apply it: a new command next time
            raise
        entry.forget()
        return status

    if entry.again:
        again = f"{account_id}: resending the {name} action an earlier run left unanswered (applied at most once)"
        typer.echo(again, err=True)
    return await plainly(account, call, lambda why: fail(unanswered(account_id, name, why), code=UNANSWERED))


def unanswered(account_id: str, name: str, why: str) -> str:
    """What a CSM needs to know about an action sent without an answer: it may still happen, once."""
    return (
        f"{account_id}: {why}\n"
        f"The {name} action may still be applied when a worker picks it up."
        f" Check: python admin.py status {account_id}\n"
        "Running the same command again applies it at most once."
    )


async def signal(account: str, event: ProductEvent) -> None:
    """Send a product event (a signal, named by the catalogue); Temporal's acknowledgement is the answer."""
    await plainly(account, lambda c: send.signal(handle(c, account), event), fail)


async def status(account: str) -> tuple[Status, str]:
    """The onboarding's status and its current details (what it waits for, what it does next)."""
    seconds = timeout()

    async def call(c: Client) -> tuple[Status, str]:
        h, rpc_timeout = handle(c, account), timedelta(seconds=seconds)
        state = await h.query(send.STATUS_QUERY, result_type=Status, rpc_timeout=rpc_timeout)
        metadata = await h.query("__temporal_workflow_metadata", result_type=WorkflowMetadata, rpc_timeout=rpc_timeout)
        return state, metadata.current_details

    return await plainly(account, call, fail)
