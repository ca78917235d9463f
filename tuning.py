"""How hard one worker process works, and what it runs: the WORKER_* variables and LOG_LEVEL.

docs/deploy.md lists them all. A bad value is refused when the worker starts, with a message
that names each variable at fault and what it expects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal


class TuningError(ValueError):
    """A WORKER_* or LOG_LEVEL value that cannot be used; the message names each one at fault."""


Role = Literal["all", "workflows", "activities"]
ROLES: tuple[Role, ...] = ("all", "workflows", "activities")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UNBOUNDED = float("inf")

# Tuning field: (environment variable, parse, lowest, highest, what is expected)
VARIABLES: dict[str, tuple[str, type[int] | type[float], float, float, str]] = {
    "max_concurrent_activities": ("WORKER_MAX_CONCURRENT_ACTIVITIES", int, 1, UNBOUNDED, "a whole number, at least 1"),
    # The SDK needs two workflow task slots at least: one for the sticky queue, one for the shared.
    "max_concurrent_workflow_tasks": (
        "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS",
        int,
        2,
        UNBOUNDED,
        "a whole number, at least 2",
    ),
    "max_cached_workflows": ("WORKER_MAX_CACHED_WORKFLOWS", int, 0, UNBOUNDED, "a whole number, at least 0"),
    "sticky_queue_timeout": ("WORKER_STICKY_QUEUE_SECONDS", float, 1, 3600, "a number of seconds, 1-3600"),
    "emails_per_second": ("WORKER_EMAILS_PER_SECOND", float, 0, UNBOUNDED, "a number, at least 0 (0: no limit)"),
    "graceful_shutdown": ("WORKER_GRACEFUL_SHUTDOWN_SECONDS", float, 0, 3600, "a number of seconds, 0-3600"),
    "metrics_port": ("WORKER_METRICS_PORT", int, 1, 65535, "a TCP port number, 1-65535"),
}
# Tuning field: (environment variable, the values it takes, in any case)
CHOICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "role": ("WORKER_ROLE", ROLES),
    "log_level": ("LOG_LEVEL", LOG_LEVELS),
}


@dataclass(frozen=True)
class Tuning:
    """How hard one worker process works. The defaults suit a laptop and a small cluster alike."""

    # all: workflows and activities in one process. workflows: the onboardings' workflow tasks
    # (and the records lane's local activities) only; activities: emails, assignments and the
    # other activities only. Apart, the two never wait for each other's interpreter lock.
    role: Role = "all"
    max_concurrent_activities: int = 20
    # Workflow tasks share one interpreter lock: many at once only makes each slower, and one
    # that takes over 10 s times out. Fewer in hand, the rest wait on the server, unharmed.
    max_concurrent_workflow_tasks: int = 20
    max_cached_workflows: int = 1000
    # How long a cached onboarding's next workflow task waits for this worker before the server
    # hands it, with its whole history, to any worker, which must replay it. A worker that stopped
    # polling loses its tasks after 10 s whatever this says (the server notices the missing poller),
    # so this only decides how long a busy worker keeps what it already holds in memory. The SDK's
    # 10 s made a worker in a burst replay runs it had cached: more work just when it had the most.
    sticky_queue_timeout: timedelta = timedelta(seconds=60)
    emails_per_second: float = 25.0
    graceful_shutdown: timedelta = timedelta(seconds=30)
    metrics_port: int | None = None
    log_level: str = "INFO"

    @property
    def runs_workflows(self) -> bool:
        return self.role != "activities"

    @property
    def runs_activities(self) -> bool:
        """Whether it polls for activity tasks (a workflows worker still runs its local activities)."""
        return self.role != "workflows"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Tuning:
        """Read the WORKER_* variables and LOG_LEVEL; unset or empty means the default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems: list[str] = []
        for field, (name, parse, lowest, highest, expected) in VARIABLES.items():
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                values[field] = parse(raw)
            except ValueError:
                values[field] = None
            if values[field] is None or not lowest <= values[field] <= highest:
                problems.append(f"{name}: expected {expected}, got {raw!r}")
        for field, (name, choices) in CHOICES.items():
            raw = env.get(name, "").strip()
            if not raw:
                continue
            values[field] = next((c for c in choices if c.lower() == raw.lower()), None)
            if values[field] is None:
                problems.append(f"{name}: expected one of {', '.join(choices)}, got {env[name]!r}")
        if problems:
            raise TuningError("\n".join(problems))
        for seconds in ("graceful_shutdown", "sticky_queue_timeout"):
            if seconds in values:
                values[seconds] = timedelta(seconds=values[seconds])
        return cls(**values)
