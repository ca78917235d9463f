"""The scripted journey the throughput and latency benchmarks drive, for the engine and for the floor.

The SMB happy path of a customer in a hurry, on the real SMB playbook: the CSM's personal
welcome, first login, the quick-start module, five key actions and a "goal reached" survey
answer that completes the onboarding, one step every STEP_SECONDS of wall time. Because the
playbook's own clock is untouched (its first nudge is a day away), a busy worker only
delays the journey, never changes it: every run sends the same six emails, however loaded.

Two of its product events each cause an email; the time from sending the event to that
email's file in the outbox is a latency sample (the outbox writes the .eml, named by the
email's key, just before it commits the row that says 'sent').
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowContinuedAsNewError, WorkflowUpdateRPCTimeoutOrCancelledError

import starter
from adapters.email.local import eml_path
from bench.floor import QUEUE, FloorWorkflow, Shape
from bench.playbook import unpaced
from onboarding.journey.state import onboarding_ref
from onboarding.messages import HumanTouch, ModuleCompleted, ProductEvent
from service import send

CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "smb.json"


STEP_SECONDS = 0.5
UPDATE_TRIES = 10
EMAILS = 6  # welcome, milestone celebration, quick-start guide, module completed, onboarding complete, hand-over


@dataclass(frozen=True)
class Step:
    """The customer or the CSM does something; `email` is the touch it causes at once, if any."""

    message: ProductEvent | HumanTouch | ModuleCompleted
    email: str | None = None

    @property
    def is_update(self) -> bool:
        return not isinstance(self.message, ProductEvent)


def smb_happy_path() -> tuple[Step, ...]:
    key_action = ProductEvent(name="key_action", action="booking_page_published")
    return (
        Step(HumanTouch(touch="personal_welcome", by="csm")),
        Step(ProductEvent(name="first_login"), "self_serve_setup.exit.milestone_celebration"),
        Step(ModuleCompleted(module="quick_start")),
        *(Step(key_action) for _ in range(5)),
        Step(ProductEvent(name="survey_answer", goal_reached=True, csat=5, ces=2), "success.onboarding_complete"),
    )


STEPS = smb_happy_path()


@dataclass
class Trip:
    """One journey driven: when it started and ended, and the event -> email pairs to time."""

    workflow_id: str
    started: float
    ended: float = 0.0
    sent: list[tuple[float, str]] = field(default_factory=list)  # (wall time the event went, email key)
    run_id: str = ""  # the first run's, where the sampled emails are scheduled

    def latencies(self, outbox: Path, excused: Collection[str] = ()) -> list[float]:
        """Event -> .eml in the outbox, in seconds; an email that never came is an error, not a sample,
        unless it is `excused` (bench/breakdown.py's `unsent`)."""
        out = []
        for at, key in self.sent:
            if key in excused:
                continue
            path = eml_path(outbox, key)
            if not path.exists():
                raise RuntimeError(f"{self.workflow_id}: the email {key.split('/', 1)[1]} never reached the outbox")
            out.append(path.stat().st_mtime - at)
        return out


def contract(account_id: str) -> Any:
    data = json.loads(CONTRACT.read_text())
    data["account_id"] = account_id
    return starter.parse_contract(json.dumps(data))


async def patiently(send: Callable[[], Awaitable[object]]) -> None:
    """Send an update again, under the same id, when the server tired of waiting for a busy worker to take it.

    The server applies an update id once, however often it arrives.
    """
    for attempt in range(1, UPDATE_TRIES + 1):
        try:
            await send()
            return
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            if attempt == UPDATE_TRIES:
                raise


async def _at(start: float, n: int) -> None:
    delay = start + (n + 1) * STEP_SECONDS - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def engine_journey(client: Client, account_id: str) -> Trip:
    """Sign, play every step in turn, and wait until the onboarding completes."""
    handle = await starter.start(client, contract(account_id), unpaced("smb"))
    trip = Trip(handle.id, time.time(), run_id=handle.result_run_id or "")
    ref = onboarding_ref(handle.id, trip.run_id)
    for n, step in enumerate(STEPS):
        await _at(trip.started, n)
        sent = time.time()
        message = step.message
        if isinstance(message, ProductEvent):
            await send.signal(handle, message.model_copy(update={"id": f"{account_id}-{n}"}))
        else:
            await patiently(partial(send.act, handle, message.model_copy(update={"id": f"step-{n}"})))
        if step.email:
            trip.sent.append((sent, f"{ref}/{step.email}"))
    first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    with contextlib.suppress(WorkflowContinuedAsNewError):  # done: on into the check-in cadence
        await first_run.result(follow_runs=False)
    trip.ended = time.time()
    return trip


async def floor_journey(client: Client, account_id: str, shape: Shape) -> Trip:
    """The same messages at the same moments, to the floor workflow; wait until it completes."""
    handle = await client.start_workflow(FloorWorkflow.run, shape, id=f"floor-{account_id}", task_queue=QUEUE)
    trip = Trip(handle.id, time.time())
    for n, step in enumerate(STEPS):
        await _at(trip.started, n)
        if step.is_update:
            await patiently(partial(handle.execute_update, FloorWorkflow.touch, f"step-{n}", id=f"step-{n}"))
        else:
            await handle.signal(FloorWorkflow.poke, f"step-{n}")
    await handle.result()
    trip.ended = time.time()
    return trip
