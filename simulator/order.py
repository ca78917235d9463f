"""The order the workflow ran its effects in: the tie-break for lines of the same moment.

The workflow performs its effects one at a time, each awaited, so the order activities start
in is the order the playbook asked for them (the timeline row before the email it announces,
the escalation before its notice). A worker interceptor notes the keys each activity carries,
local activities included, without touching what the activity does.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


class EffectOrder(Interceptor):
    """Effect key -> position, first attempt wins (a retry keeps its place)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = itertools.count()
        self._seen: dict[str, int] = {}

    def position(self, key: str) -> int | None:
        with self._lock:
            return self._seen.get(key)

    def note(self, args: tuple[Any, ...]) -> None:
        items = [i for a in args for i in (a if isinstance(a, list) else [a])]
        with self._lock:
            for item in items:
                key = getattr(item, "key", None)
                if isinstance(key, str) and key not in self._seen:
                    self._seen[key] = next(self._next)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Noting(next, self)


class _Noting(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, order: EffectOrder) -> None:
        super().__init__(next)
        self.order = order

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        self.order.note(tuple(input.args))
        return await self.next.execute_activity(input)
