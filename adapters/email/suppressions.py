"""Addresses not to email again. A hard bounce or a spam report stops every email to the
address; an unsubscribe stops onboarding mail but not transactional mail (an invitation a
colleague asked for, notes to staff). The stronger reason wins when both happen."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from adapters.db import Suppression

REASONS = ("unsubscribe", "bounce", "spam_report")  # weakest first


def blocked(db: Session, email: str, transactional: bool) -> str | None:
    """Why this address must not get this email, or None."""
    row = db.get(Suppression, email.lower())
    if row is None or (row.reason == "unsubscribe" and transactional):
        return None
    return row.reason


def suppress(db: Session, email: str, reason: str, at: datetime) -> None:
    """Record (or strengthen) a suppression; the caller commits."""
    row = db.get(Suppression, email.lower())
    if row is None:
        db.add(Suppression(email=email.lower(), reason=reason, created_at=at))
    elif REASONS.index(reason) > REASONS.index(row.reason):
        row.reason, row.created_at = reason, at
        db.add(row)


def resubscribe(db: Session, email: str) -> None:
    """The person opted back in: lift an unsubscribe (never a bounce or spam report); the caller commits."""
    row = db.get(Suppression, email.lower())
    if row is not None and row.reason == "unsubscribe":
        db.delete(row)
