"""What every admin command shares: connecting, finding an onboarding, reporting errors plainly."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Collection, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from temporalio.client import Client, WorkflowHandle

from connection import connect, connect_config
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
        address = connect_config()["target_host"]
        why = "nothing answers there" if "refused" in str(e).lower() else str(e).split(":", 1)[0].lower()
        fail(
            f"cannot reach Temporal at {address} ({why}): is the engine running? Start it with"
            " `bash scripts/up.sh`, or point TEMPORAL_ADDRESS at your cluster."
        )


def suggest(value: str, known: Collection[str]) -> str:
    """'; did you mean 'quick_start'?' when one known value is close to a mistyped one, else ''."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def one_of(what: str, allowed: Collection[str]) -> Callable[[str], str]:
    """A typer callback: the value must be one of `allowed`, else it says which and suggests the closest."""

    def check(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(
                f"{value!r} is not a {what}; expected one of {', '.join(allowed)}{suggest(value, allowed)}"
            )
        return value

    return check


def handle(c: Client, account: str) -> WorkflowHandle[Any, Status]:
    """ACCOUNT may be the account id or the workflow id onboarding-<account_id>."""
    return c.get_workflow_handle(workflow_id(account_of(account)), result_type=Status)
