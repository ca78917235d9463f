"""The outbox table: one row per email key, the proof of what happened to that email.

    (new)   -> sending              the first attempt stores its row claimed
    pending -> sending -> sent          the backend took it
                       -> pending       it did not take it this time (TryLater)
                       -> failed        it refused it (Refused)
                       -> unconfirmed   no answer, and no webhook event within the window
    pending -> suppressed               the address unsubscribed, bounced or reported spam
    pending -> cancelled                the onboarding was cancelled first (final: nothing is sent)
    pending | sending | unconfirmed
                       -> sent          a webhook event proves the provider took it

A row is claimed ('sending') and committed before the backend is called, so a retry knows a
hand-over may already have happened. `sent_at` is when the hand-over started (for 'sending'
rows) or finished (for 'sent' rows).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from adapters.db import OutboxEmail, TimelineEvent, insert_new

_WHY = {"bounce": "bounced", "spam_report": "reported spam", "unsubscribe": "unsubscribed"}


def find(db: Session, key: str) -> OutboxEmail | None:
    return db.exec(select(OutboxEmail).where(OutboxEmail.key == key)).first()


def record_claimed(db: Session, row: OutboxEmail, at: datetime) -> bool:
    """Insert a new row already claimed (new -> sending) in one commit; False if another attempt
    inserted the key first (that attempt owns the email)."""
    row.status, row.sent_at, row.error = "sending", at, None
    db.add(row)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        return False
    return True


def claim(db: Session, key: str, at: datetime, resend: bool) -> bool:
    """pending -> sending (also sending -> sending when `resend` is safe); False if another attempt won."""
    allowed = ["pending", "sending"] if resend else ["pending"]
    result = db.exec(
        update(OutboxEmail)
        .where(col(OutboxEmail.key) == key, col(OutboxEmail.status).in_(allowed))
        .values(status="sending", sent_at=at, error=None)
    )
    db.commit()
    return bool(result.rowcount == 1)


def settle(db: Session, key: str, status: str, error: str) -> bool:
    """Record how a hand-over ended, unless the webhook already proved it was sent (then False)."""
    result = db.exec(
        update(OutboxEmail)
        .where(col(OutboxEmail.key) == key, col(OutboxEmail.status) == "sending")
        .values(status=status, error=error)
    )
    db.commit()
    return bool(result.rowcount == 1)


def mark_sent(db: Session, row: OutboxEmail, message_id: str, at: datetime) -> None:
    """The provider has the email: the row says so, and the account's timeline shows it once.

    The caller commits (with whatever else proves the same fact).
    """
    row.status, row.sent_at, row.error = "sent", at, None
    row.provider_message_id = message_id or row.provider_message_id
    db.add(row)
    _timeline(db, row, "sent", "email", row.template, row.subject)


def mark_suppressed(db: Session, row: OutboxEmail, reason: str) -> None:
    """The address must not get this email; the caller commits."""
    row.status, row.error = "suppressed", f"not sent: the address {_WHY[reason]}"
    db.add(row)
    _timeline(db, row, "suppressed", "event", "email_suppressed", f"{row.template} to the {row.to_role} {row.error}")


def _timeline(db: Session, row: OutboxEmail, suffix: str, kind: str, name: str, detail: str) -> None:
    event = TimelineEvent(
        key=f"{row.key}#{suffix}",
        account_id=row.account_id,
        at=row.created_at,
        kind=kind,
        name=name,
        actor="engine",
        to=row.to_role,
        detail=detail,
        seq=row.seq,
    )
    db.execute(insert_new(db, TimelineEvent, "key").values(event.model_dump(exclude={"id"})))
