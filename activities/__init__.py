"""Every side effect of an onboarding, each safe to retry."""

from collections.abc import Callable
from typing import Any

from activities.email import send_email
from activities.records import open_escalation, record_timeline, resolve_escalation
from activities.team import assign_team, find_staff

ALL: list[Callable[..., Any]] = [
    send_email,
    record_timeline,
    open_escalation,
    resolve_escalation,
    assign_team,
    find_staff,
]
