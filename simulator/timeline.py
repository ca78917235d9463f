"""One line of a simulated journey: what the engine did (or refused), on which day, to whom."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal[
    "email",
    "escalation",
    "task",
    "phase",
    "health",
    "paused",
    "resumed",
    "completed",
    "cancelled",
    "rejected",
    "deferred",
    "merged",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
# What the scenario itself did, as the engine recorded it: shown in the readable timeline only.
INPUT_KINDS = ("event", "action")
# The order of lines on the same day (to the hundredth): what the customer or CSM did, what it
# changed, whom it reached, and health last, as it sums up the rest. Within a kind, the order the
# workflow did things in. Moments closer than that are not ordered by the engine itself (timers
# due together may fire in one workflow task or two), so this keeps every run's timeline the same.
WITHIN_A_DAY: tuple[str, ...] = (
    *INPUT_KINDS,
    "rejected",
    "phase",
    "paused",
    "resumed",
    "cancelled",
    "completed",
    "escalation",
    "task",
    "deferred",
    "merged",
    "email",
    "health",
)


DAY_SECONDS = 86_400


class Entry(BaseModel):
    """A timeline line; `kind` is one of KINDS, or an input kind for the scenario's own actions."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    day: float
    kind: str
    name: str
    to: str | None
    detail: str = ""

    @property
    def reported(self) -> bool:
        """Part of the JSON timeline (the engine's doing), not one of the scenario's own inputs."""
        return self.kind in KINDS

    def public(self) -> dict[str, object]:
        return {"day": self.day, "kind": self.kind, "name": self.name, "to": self.to, "detail": self.detail}


def day_of(at: datetime, signed_at: datetime) -> float:
    """Days since signing, to the hundredth (about a quarter of an hour)."""
    return round((at - signed_at).total_seconds() / DAY_SECONDS, 2)


def timeline_order(entry: Entry) -> tuple[float, int]:
    """Sort key for a timeline already in the workflow's order (a stable sort keeps that order within a kind)."""
    rank = WITHIN_A_DAY.index(entry.kind) if entry.kind in WITHIN_A_DAY else len(WITHIN_A_DAY)
    return (entry.day, rank)
