"""Effects carried out in lanes: emails in one, records in another, each in order.

A lane performs what is queued on it, one item (or one batch of timeline rows) at a time,
in the order the journey asked. Lanes do not wait for each other, so an email that waits
on a provider outage never holds back a human task or a timeline row. Dropping a lane
forgets what is queued and cancels what is in flight (a cancelled onboarding sends nothing more).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lane(Generic[T]):
    """A queue of effects and the one task that performs them in order."""

    def __init__(self, perform: Callable[[list[T]], Awaitable[None]], batch: Callable[[T, T], bool]) -> None:
        self._perform = perform
        self._batch = batch
        self._queue: list[T] = []
        self._task: asyncio.Task[None] | None = None

    def push(self, items: list[T]) -> None:
        self._queue.extend(items)
        if self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(self._queue))

    @property
    def idle(self) -> bool:
        """Nothing queued and nothing in flight; a lane that failed raises its error here."""
        if self._task is not None and self._task.done() and not self._task.cancelled():
            error = self._task.exception()
            if error is not None:
                raise error
        return not self._queue and (self._task is None or self._task.done())

    def drop(self) -> None:
        """Forget what is queued and cancel what is in flight; what is pushed after runs anew."""
        self._queue.clear()
        self._queue = []
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, queue: list[T]) -> None:
        while queue:
            items = [queue.pop(0)]
            while queue and self._batch(items[0], queue[0]):
                items.append(queue.pop(0))
            await self._perform(items)
