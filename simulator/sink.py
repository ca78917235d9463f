"""Where a simulation's email goes: rendered exactly as the real sender would, then kept in memory.

Its `send_email` activity has the real one's name and input, so the workflow cannot tell the difference. A template
that does not render is noted, and the simulation stops with it at the next quiet moment (see
simulator.run); the workflow is told the email went, so it neither retries nor escalates in
the meantime (an escalation notice with a broken template would otherwise escalate itself).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from temporalio import activity

from adapters.config import Settings
from adapters.email import compose
from adapters.email.render import render
from onboarding.effects import EmailRequest


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

    def __init__(self, settings: Settings) -> None:
        self.settings = settings  # what the templates' context takes from the settings (links, sender)
        self._lock = threading.Lock()
        self._sent: dict[str, Sent] = {}
        self._failures: list[RenderFailure] = []

    def sent(self, account_id: str) -> list[Sent]:
        with self._lock:
            return [s for s in self._sent.values() if s.account_id == account_id]

    def failures(self, account_id: str) -> list[RenderFailure]:
        with self._lock:
            return [f for f in self._failures if f.account_id == account_id]

    @activity.defn(name="send_email")
    def send_email(self, request: EmailRequest) -> str:
        try:
            mail = render(request.template, request.locale, compose.context(request, self.settings))
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
