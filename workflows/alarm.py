"""The run's one alarm: the durable timer that wakes it when the journey next has something due.

A message that arrives while the run waits seldom moves that moment, so the alarm stays set
through it. Waiting with a timeout instead would cancel the timer and start another for every
message: two history events and two server commands each time, for nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow


class Alarm:
    """At most one timer, set for one moment; setting another moment replaces it."""

    def __init__(self) -> None:
        self._set: tuple[datetime, asyncio.Task[None]] | None = None

    def set(self, at: datetime | None, summary: str) -> None:
        """Ring at `at` (never, for None), keeping the timer already set for that moment.

        A timer that has rung is never kept: a run can wake a moment before `at` (the task's
        time is its start, in whole milliseconds), and the timer for what remains goes anew."""
        if self._set is not None and (self._set[0] != at or self._set[1].done()):
            self._set[1].cancel()  # a timer that already fired cancels nothing
            self._set = None
        if at is not None and self._set is None:
            timer = workflow.sleep(at - workflow.now(), summary=summary)
            self._set = (at, asyncio.create_task(timer))

    def stop(self) -> None:
        """No alarm: a run that ends leaves no timer behind (the time-skipping test server
        would still fire it, and then hang)."""
        self.set(None, "")

    @property
    def rung(self) -> bool:
        return self._set is not None and self._set[1].done()
