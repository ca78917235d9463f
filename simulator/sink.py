"""Where a simulation's email goes: rendered exactly as the real sender would, then kept in memory.

The activity has the real one's name, so the workflow cannot tell the difference. A template
that does not render is noted, and the simulation stops with it at the next quiet moment (see
simulator.run); the workflow is told the email went, so it neither retries nor escalates in
the meantime (an escalation notice with a broken template would otherwise escalate itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from onboarding import effects
from onboarding.config import Settings
from onboarding.effects import EmailRequest
from onboarding.email import compose
from onboarding.email.render import render


@dataclass(frozen=True)
class Sent:
    key: str
    account_id: str
    at: datetime
    template: str
    role: str
    subject: str


@dataclass(frozen=True)
class RenderFailure:
    account_id: str
    at: datetime
    template: str
    role: str
    error: str


class EmailSink:
    """Every email of every simulated onboarding, once per touch key, in sending order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, Sent] = {}
        self._failures: list[RenderFailure] = []

    def sent(self, account_id: str) -> list[Sent]:
        with self._lock:
            return [s for s in self._sent.values() if s.account_id == account_id]

    def failures(self, account_id: str) -> list[RenderFailure]:
        with self._lock:
            return [f for f in self._failures if f.account_id == account_id]

    def activity(self) -> Callable[[EmailRequest], str]:
        @activity.defn(name=effects.SEND_EMAIL)
        def send_email(request: EmailRequest) -> str:
            try:
                mail = render(request.template, request.locale, compose.context(request, Settings.from_env()))
            except Exception as e:  # any error in a template is the template's fault
                failure = RenderFailure(
                    request.account_id, request.at, request.template, request.to.role, f"{type(e).__name__}: {e}"
                )
                with self._lock:
                    self._failures.append(failure)
                return request.key
            with self._lock:
                self._sent.setdefault(
                    request.key,
                    Sent(request.key, request.account_id, request.at, request.template, request.to.role, mail.subject),
                )
            return request.key

        return send_email
