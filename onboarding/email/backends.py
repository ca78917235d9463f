"""Where email goes (EMAIL_BACKEND), and the three ways a hand-over to it can fail.

What the activity does next depends on what we know about the provider's side:
- `Refused`: it did not take the email and never will (bad address, bad key): a person must act.
- `TryLater`: it did not take the email this time (rate limit, outage): send again later.
- `Unconfirmed`: it may have taken the email (the response was lost): sending again could
  deliver it twice, so the activity waits for the provider's webhook to say what happened.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from onboarding.config import DEV_LINK_SECRET, Settings
from onboarding.email.compose import OutgoingEmail


class DeliveryError(Exception):
    pass


class Refused(DeliveryError):
    pass


class TryLater(DeliveryError):
    def __init__(self, message: str, retry_after: timedelta | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unconfirmed(DeliveryError):
    pass


class Misconfigured(Exception):
    """A setting the backend needs is missing or unsafe; the message names it."""


class Backend(Protocol):
    name: str
    # True when handing the same email over again cannot deliver it twice (the local outbox).
    resend_is_safe: bool

    def deliver(self, email: OutgoingEmail) -> str:
        """Hand the email over; returns the provider's message id."""
        ...


def backend_for(settings: Settings) -> Backend:
    if settings.email_backend == "sendgrid":
        from onboarding.email.sendgrid_backend import SendGridBackend

        if not settings.sendgrid_api_key:
            raise Misconfigured("SENDGRID_API_KEY is not set; EMAIL_BACKEND=sendgrid needs an API key with mail.send")
        if settings.email_link_secret == DEV_LINK_SECRET:
            raise Misconfigured("EMAIL_LINK_SECRET is not set; unsubscribe links in real email need a private secret")
        return SendGridBackend(settings)
    from onboarding.email.local import LocalOutbox

    return LocalOutbox(settings.outbox_dir)
