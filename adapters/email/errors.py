"""The ways handing an email to a backend can fail, shared by every backend and the sender.

What the send_email activity does next depends on what we know about the provider's side:
- `Refused`: it did not take the email and never will (bad address, bad key): a person must act.
- `TryLater`: it did not take the email this time (rate limit, outage): send again later.
- `Unconfirmed`: it may have taken the email (the response was lost): sending again could
  deliver it twice, so the activity waits for the provider's webhook to say what happened.
- `Misconfigured`: the backend cannot be built from the settings; only ops can fix it.
"""

from __future__ import annotations

from datetime import timedelta


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
