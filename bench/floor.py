"""Temporal's own floor: a workflow that does nothing but what the engine's history is made of.

The same number of messages (signals and updates), timers and no-op activities (scheduled
and local) per run as an onboarding, with tiny payloads and no logic. Whatever an onboarding
costs beyond this floor, on the same server and worker settings, is the engine's own:
playbook logic, rendering, database writes, payload size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow

QUEUE = "floor"
TIMEOUT = timedelta(seconds=30)
LONG = timedelta(days=1)  # a wait the next message ends, as an onboarding's nudges are days away
SHORT = timedelta(milliseconds=10)


class Shape(BaseModel):
    """How much of each kind of work one run does, counted from the engine's own histories."""

    messages: int
    timers: int
    activities: int
    local_activities: int


def share(total: int, parts: int, index: int) -> int:
    """`total` spread evenly over `parts`; the share of part `index`."""
    return total // parts + (1 if index < total % parts else 0)


@activity.defn
def nothing(_: str) -> None:
    """A no-op activity, run in the worker's thread pool as the engine's activities are."""


@workflow.defn
class FloorWorkflow:
    def __init__(self) -> None:
        self.received = 0

    @workflow.signal
    def poke(self, _: str) -> None:
        self.received += 1

    @workflow.update
    def touch(self, _: str) -> int:
        self.received += 1
        return self.received

    def has_received(self, count: int) -> Callable[[], bool]:
        return lambda: self.received >= count

    @workflow.run
    async def run(self, shape: Shape) -> int:
        """A round of activities at the start and after each message, as an onboarding reacts.

        Like an onboarding's, each wait for the next message has a timer that the message
        cancels; timers beyond one a message are short sleeps that fire.
        """
        rounds = shape.messages + 1
        for i in range(rounds):
            for _ in range(share(shape.activities, rounds, i)):
                await workflow.execute_activity(nothing, "", start_to_close_timeout=TIMEOUT)
            for _ in range(share(shape.local_activities, rounds, i)):
                await workflow.execute_local_activity(nothing, "", start_to_close_timeout=TIMEOUT)
            if i == shape.messages:
                break
            if i < shape.timers:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(self.has_received(i + 1), timeout=LONG)
            else:
                await workflow.wait_condition(self.has_received(i + 1))
        for _ in range(shape.timers - shape.messages):
            await workflow.sleep(SHORT)
        return self.received
