"""A segment's real playbook with every duration compressed, for journeys driven in real time.

Every rule of playbooks/<segment>.yaml stays (timers, phases, reactions, red flags); only the
clock changes: a day lasts `seconds_per_day`. The post-onboarding check-ins are pushed a
year out, so a finished onboarding rests instead of adding load the journey never asked for.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from adapters.email.render import available
from onboarding import playbook
from onboarding.models import Segment
from onboarding.playbook import PLAYBOOK_DIR, Playbook, parse_duration

DURATION_KEYS = {
    "after",
    "every",
    "for",
    "planned",
    "length",
    "within",
    "due",
    "window",
    "claim_within",
    "yellow_after_inactive",
    "red_after_inactive",
}
CONDITION_KEYS = {"when", "unless"}
DAY_SECONDS = 86_400
_IN_A_PHRASE = re.compile(r"\b(\d+(?:\.\d+)?)(s|m|h|d|w)\b")


def _seconds(value: Any, factor: float) -> str:
    return f"{parse_duration(value).total_seconds() * factor:.6g}s"


def _compress(data: Any, factor: float) -> Any:
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for k, v in data.items():
            if k in DURATION_KEYS:
                out[k] = _seconds(v, factor)
            elif k in CONDITION_KEYS:  # 'no activity for 3d' -> 'no activity for 0.45s'
                out[k] = [_IN_A_PHRASE.sub(lambda m: _seconds(m[0], factor), str(c)) for c in v]
            else:
                out[k] = _compress(v, factor)
        return out
    if isinstance(data, list):
        return [_compress(v, factor) for v in data]
    return data


def compressed(segment: Segment, seconds_per_day: float) -> Playbook:
    """playbooks/<segment>.yaml with a day lasting `seconds_per_day` (validated like any playbook)."""
    raw = yaml.safe_load((PLAYBOOK_DIR / f"{segment}.yaml").read_text(encoding="utf-8"))
    data = _compress(raw, seconds_per_day / DAY_SECONDS)
    data["title"] = f"{raw['title']} (1 day = {seconds_per_day:g} s)"
    data["check_ins"] = [{"every": "365d"}]
    return playbook.parse(data, f"{segment} compressed", available())


def unpaced(segment: Segment) -> Playbook:
    """playbooks/<segment>.yaml without contact pressure: every touch goes the moment it is due,
    so a benchmark times the engine, not the hours a playbook deliberately spaces emails by."""
    return playbook.for_segment(segment, available()).model_copy(update={"pressure": None})
