"""The CRM inbox: notifications stored before the CRM is answered, processed after, each once.

`store` is what the webhook does inside HubSpot's 5 seconds (and before Salesforce gets its
Ack): one insert per notification, a redelivered one (same event id) adds nothing. The
processor then `claim`s due rows one at a time (a lease, so two intake processes never work
on the same row), and settles each or retries it later with backoff, for about a day, like
the CRMs themselves retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select, update

from adapters.db import insert_new
from adapters.integration_tables import CrmInbox

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
"""Backoff doubles from 30 s: the 12th attempt comes about 17 hours after the first."""
FIRST_RETRY = timedelta(seconds=30)
SETTLED = ("started", "already", "stale", "ignored", "refused", "failed")


def store(db: Session, rows: Iterable[CrmInbox]) -> int:
    """Insert the notifications not seen before (committed); returns how many were new."""
    values = [r.model_dump(exclude={"id"}) for r in rows]
    if not values:
        return 0
    result = db.execute(insert_new(db, CrmInbox, "event_id").values(values))
    db.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def claim(db: Session, now: datetime) -> CrmInbox | None:
    """The next due row, leased to this caller; None when nothing is due."""
    for row in db.exec(
        select(CrmInbox)
        .where(CrmInbox.status == "pending", col(CrmInbox.next_attempt_at) <= now)
        .where(or_(col(CrmInbox.claimed_until).is_(None), col(CrmInbox.claimed_until) < now))
        .order_by(col(CrmInbox.occurred_at), col(CrmInbox.id))
        .limit(5)
    ).all():
        taken = db.execute(
            update(CrmInbox)
            .where(col(CrmInbox.id) == row.id, col(CrmInbox.status) == "pending")
            .where(or_(col(CrmInbox.claimed_until).is_(None), col(CrmInbox.claimed_until) < now))
            .values(claimed_until=now + LEASE)
        )
        db.commit()
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            db.refresh(row)
            return row
    return None


def settle(db: Session, row: CrmInbox, status: str, outcome: str, account_id: str | None = None) -> None:
    assert status in SETTLED
    row.status, row.outcome, row.claimed_until = status, outcome, None
    row.account_id = account_id or row.account_id
    row.attempts += 1
    db.add(row)
    db.commit()


def retry_later(db: Session, row: CrmInbox, now: datetime, error: str) -> None:
    """Try again after a backoff; after the last attempt the row is 'failed' with the error."""
    row.attempts += 1
    row.claimed_until = None
    row.outcome = error
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + FIRST_RETRY * 2 ** (row.attempts - 1)
    db.add(row)
    db.commit()


def next_due(db: Session) -> datetime | None:
    """When the earliest pending row is due (None: nothing pending)."""
    return db.exec(
        select(CrmInbox.next_attempt_at).where(CrmInbox.status == "pending").order_by(col(CrmInbox.next_attempt_at))
    ).first()
