"""The playbook language's words: durations, conditions, texts in every locale, and the three
things a rule can do (send a touch, escalate, open a staff task)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from onboarding.conditions import Condition, parse_condition
from onboarding.models import Role

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: Any) -> Any:
    """'30s', '90m', '24h', '3d', '2w' -> timedelta; anything else is left to pydantic (ISO 8601, seconds)."""
    if isinstance(value, str) and not value.startswith("P"):
        match = _DURATION.match(value.strip())
        if not match:
            raise ValueError(f"expected a duration like '24h', '3d' or '2w', got {value!r}")
        return timedelta(**{_UNITS[match[2]]: float(match[1])})
    return value


def _conditions(value: Any) -> Any:
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list | tuple):
        return tuple(c if isinstance(c, Condition) else parse_condition(str(c), parse_duration) for c in value)
    return value


def _localized(value: Any) -> Any:
    """A plain string is the English text (older playbook snapshots wrote only that)."""
    return {"en": value} if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Conditions = Annotated[
    tuple[Condition, ...],
    BeforeValidator(_conditions),
    PlainSerializer(lambda cs: [c.text for c in cs], return_type=list[str]),
]
Localized = Annotated[dict[str, Annotated[str, Field(min_length=1, max_length=300)]], BeforeValidator(_localized)]
Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]*$", max_length=60)]
StaffRole = Literal["csm", "cs_manager", "implementation_specialist", "ongoing_csm"]
ANCHORS = ("signed", "phase_start", "last_activity")
"""Moments that are not facts: the phase's start (whichever phase) and the last activity."""


def text(texts: dict[str, str], locale: str) -> str:
    """The text in `locale`, else in English (snapshots from before titles had locales)."""
    return texts.get(locale) or texts.get("en") or next(iter(texts.values()))


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Send(Rule):
    template: Id
    to: Role


class Escalate(Rule):
    to: StaffRole
    reason: Localized


class Task(Rule):
    """Work for a person on the vendor's side that is not a problem: health turns red only if overdue."""

    to: StaffRole
    title: Localized
    due: Duration = Field(timedelta(days=1), description="how long after it opens it is due")
