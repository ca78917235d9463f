"""Where email goes (EMAIL_BACKEND): the backend the settings choose (errors.py: how it can fail)."""

from __future__ import annotations

from typing import Protocol

from adapters.config import DEV_LINK_SECRET, Settings
from adapters.email.compose import OutgoingEmail
from adapters.email.errors import Misconfigured
from adapters.email.local import LocalOutbox
from adapters.email.sendgrid_backend import SendGridBackend


class Backend(Protocol):
    name: str
    # True when handing the same email over again cannot deliver it twice (the local outbox).
    resend_is_safe: bool

    def deliver(self, email: OutgoingEmail) -> str:
        """Hand the email over; returns the provider's message id."""
        ...


def backend_for(settings: Settings) -> Backend:
    if settings.email_backend == "sendgrid":
        if not settings.sendgrid_api_key:
            raise Misconfigured("SENDGRID_API_KEY is not set; EMAIL_BACKEND=sendgrid needs an API key with mail.send")
        if settings.email_link_secret == DEV_LINK_SECRET:
            raise Misconfigured("EMAIL_LINK_SECRET is not set; unsubscribe links in real email need a private secret")
        return SendGridBackend(settings)
    return LocalOutbox(settings.outbox_dir)
