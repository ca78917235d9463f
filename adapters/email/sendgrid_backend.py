"""SendGrid's v3 Mail Send API through the official `sendgrid` client.

The request carries only what SendGrid needs: the recipient, both parts, a category per
template, and `custom_args` with the opaque message key and the workflow id (the event
webhook hands those back). Every failure is sorted into Refused / TryLater / Unconfirmed
(see errors.py). Error text from SendGrid is kept, with email addresses masked; the API
key never appears in any message or log line.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import re
import time
from datetime import timedelta
from typing import Any
from urllib.error import URLError

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from adapters.config import Settings
from adapters.email.compose import Address, OutgoingEmail
from adapters.email.errors import DeliveryError, Refused, TryLater, Unconfirmed

# python_http_client logs every request's headers, Authorization included, at DEBUG.
logging.getLogger("python_http_client").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

CATEGORY = "onboarding"
LONGEST_RATE_LIMIT_WAIT = timedelta(hours=1)
_ADDRESS = re.compile(r"[^\s@<>\"',;:]+@[^\s@<>\"',;:]+")
_WHY = {
    400: "Check the recipient's email address and the sender settings.",
    401: "The SendGrid API key is not valid: ops must fix SENDGRID_API_KEY.",
    403: "The SendGrid API key lacks the mail.send permission, or the sender is not verified: ops must fix it.",
    413: "The email is larger than SendGrid accepts.",
}


def _address(a: Address) -> dict[str, str]:
    return {"email": a.email, "name": a.name} if a.name else {"email": a.email}


def payload(email: OutgoingEmail, sandbox: bool = False, unsubscribe_group: int | None = None) -> dict[str, Any]:
    """The Mail Send request body for one email."""
    body: dict[str, Any] = {
        "personalizations": [{"to": [_address(email.to)]}],
        "from": _address(email.sender),
        "subject": email.content.subject,
        "content": [
            {"type": "text/plain", "value": email.content.text},
            {"type": "text/html", "value": email.content.html},
        ],
        "categories": [CATEGORY, email.template],
        "custom_args": {"message_key": email.key, "workflow_id": email.workflow_id},
    }
    if email.reply_to:
        body["reply_to"] = _address(email.reply_to)
    if email.unsubscribe_url:
        body["headers"] = {
            "List-Unsubscribe": f"<{email.unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if unsubscribe_group is not None:
            body["asm"] = {"group_id": unsubscribe_group}
    if email.calendar:
        body["attachments"] = [
            {
                "content": base64.b64encode(email.calendar.data).decode("ascii"),
                "type": email.calendar.content_type,
                "filename": email.calendar.filename,
                "disposition": "attachment",
            }
        ]
    if sandbox:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    return body


def _mask(text: str) -> str:
    return _ADDRESS.sub("<address>", text)


def _errors(body: bytes | str | None) -> str:
    """SendGrid's {"errors": [{"field", "message"}]} as one line, addresses masked."""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    try:
        errors = json.loads(raw)["errors"]
        text = "; ".join(f"{e['field']}: {e['message']}" if e.get("field") else str(e["message"]) for e in errors)
    except (ValueError, KeyError, TypeError):
        text = raw.strip()
    return _mask(text)[:500] or "no details"


def _reset_in(headers: Any, now: float) -> timedelta | None:
    try:
        reset = float(headers.get("X-RateLimit-Reset"))
    except (TypeError, ValueError):
        return None
    return min(max(timedelta(seconds=reset - now), timedelta(seconds=1)), LONGEST_RATE_LIMIT_WAIT)


def classify(status: int, body: bytes | str | None, headers: Any, now: float | None = None) -> DeliveryError:
    """What an HTTP error from Mail Send means for the email: the issue's classification table."""
    details = _errors(body)
    if status == 429:
        wait = _reset_in(headers, time.time() if now is None else now)
        return TryLater(f"SendGrid rate limit reached (HTTP 429): {details}", retry_after=wait)
    if status >= 500:
        return TryLater(f"SendGrid is unavailable (HTTP {status}): {details}")
    why = _WHY.get(status, "The request was not valid for SendGrid.")
    return Refused(f"SendGrid refused it (HTTP {status}): {details.rstrip('.')}. {why}")


class SendGridBackend:
    name = "sendgrid"
    resend_is_safe = False

    def __init__(self, settings: Settings) -> None:
        self.client = SendGridAPIClient(api_key=settings.sendgrid_api_key, host=settings.sendgrid_host)
        self.client.client.timeout = settings.sendgrid_timeout
        self.sandbox = settings.sendgrid_sandbox
        self.unsubscribe_group = settings.sendgrid_unsubscribe_group

    def deliver(self, email: OutgoingEmail) -> str:
        """POST /v3/mail/send; returns SendGrid's X-Message-Id."""
        try:
            response = self.client.send(payload(email, self.sandbox, self.unsubscribe_group))
        except HTTPError as e:
            error = classify(e.status_code, e.body, e.headers)
            log.warning("SendGrid did not take email %s: %s", email.key, error)
            raise error from None
        except URLError as e:
            # urllib wraps failures while connecting or sending: SendGrid has no complete request.
            raise TryLater(f"could not reach SendGrid: {_mask(str(e.reason))}") from None
        except (OSError, http.client.HTTPException) as e:
            # The request went out and the answer did not come back: SendGrid may have taken it.
            raise Unconfirmed(f"no answer from SendGrid after sending ({type(e).__name__})") from None
        return str(response.headers.get("X-Message-Id") or "")
