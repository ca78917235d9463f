"""What every admin command shares: connecting, finding an onboarding, reporting errors plainly."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from temporalio.client import Client, WorkflowHandle

from connection import connect
from onboarding.models import Status, account_of, workflow_id

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


async def client() -> Client:
    try:
        return await connect()
    except RuntimeError as e:
        fail(f"cannot reach Temporal: {e}")


def handle(c: Client, account: str) -> WorkflowHandle[Any, Status]:
    """ACCOUNT may be the account id or the workflow id onboarding-<account_id>."""
    return c.get_workflow_handle(workflow_id(account_of(account)), result_type=Status)
