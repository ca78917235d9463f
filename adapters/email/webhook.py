"""SendGrid's Event Webhook: check the signature, then apply each event once.

An event names our email through the custom args we sent (`message_key`, `workflow_id`).
Any event proves SendGrid took the email, which settles a row a lost response left in
'sending'. Hard bounces, spam reports and unsubscribes suppress the address. Bounces, spam
reports, unsubscribes, opens and clicks on customer mail become `email_feedback` signals;
engagement with mail to staff says nothing about the customer, so it is not signalled.
Events already applied (by `sg_event_id`) are skipped.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlmodel import Session, col, delete

from adapters.db import WebhookEvent
from adapters.email import outbox, suppressions
from adapters.email.render import INTERNAL
from onboarding.messages import EmailFeedback

SOURCE = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# Rows an event can settle as sent: any event proves SendGrid took the email, whatever our side believed.
RECONCILING = frozenset({"pending", "sending", "unconfirmed"})


def signed(public_key: str, body: bytes, signature: str, timestamp: str) -> bool:
    """True only if SendGrid's key signed exactly these bytes at this timestamp."""
    try:
        return bool(EventWebhook(public_key).verify_signature(body.decode("utf-8"), signature, timestamp))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, UnsupportedAlgorithm):
        return False


@dataclass(frozen=True)
class Signal:
    event_id: str
    workflow_id: str
    feedback: EmailFeedback


Kind = Literal["bounce", "spam_report", "unsubscribe", "open", "click"]


def meaning(event: dict[str, Any]) -> tuple[Kind | None, str | None]:
    """(feedback kind for the workflow, suppression reason) of one SendGrid event."""
    kind = event.get("event")
    if kind == "bounce":
        return (None, None) if event.get("type") == "blocked" else ("bounce", "bounce")
    if kind == "dropped":
        reason = str(event.get("reason", "")).lower()
        if "unsubscribed" in reason:
            return "unsubscribe", "unsubscribe"
        if "spam" in reason:
            return "spam_report", "spam_report"
        return "bounce", "bounce" if "bounced" in reason else None
    if kind == "spamreport":
        return "spam_report", "spam_report"
    if kind in ("unsubscribe", "group_unsubscribe"):
        return "unsubscribe", "unsubscribe"
    if kind == "open":
        return "open", None
    if kind == "click":
        return "click", None
    return None, None


def _when(event: dict[str, Any], default: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(event["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        return default


def apply(db: Session, events: Iterable[dict[str, Any]], received_at: datetime) -> list[Signal]:
    """Apply new events to the outbox and suppressions, mark them seen, and return the signals to send.

    Everything here is idempotent, so if a signal cannot be delivered the caller may
    `forget` its event and let SendGrid deliver it again.
    """
    signals: list[Signal] = []
    seen: set[str] = set()
    for event in events:
        event_id = str(event.get("sg_event_id") or "")[:200]
        if not event_id or event_id in seen:
            continue
        if db.get(WebhookEvent, event_id) is not None:
            continue
        seen.add(event_id)
        db.add(WebhookEvent(event_id=event_id, source=SOURCE, received_at=received_at))
        row = outbox.find(db, str(event.get("message_key", "")))
        if row is None:
            continue  # not ours: another system sharing the SendGrid account
        at = _when(event, received_at)
        if row.status in RECONCILING:
            outbox.mark_sent(db, row, str(event.get("sg_message_id", "")).split(".")[0], at)
        if event.get("event") == "group_resubscribe":
            suppressions.resubscribe(db, row.to_email)
        kind, reason = meaning(event)
        if reason:
            suppressions.suppress(db, row.to_email, reason, at)
        if kind and row.template not in INTERNAL:
            feedback = EmailFeedback(kind=kind, id=f"{SOURCE}:{event_id}", template=row.template, role=row.to_role)
            signals.append(Signal(event_id, row.workflow_id, feedback))
    db.commit()
    return signals


def forget(db: Session, event_ids: Iterable[str]) -> None:
    """Let these events be applied again when SendGrid redelivers them."""
    ids = list(event_ids)
    if ids:
        db.exec(delete(WebhookEvent).where(col(WebhookEvent.event_id).in_(ids)))
        db.commit()
