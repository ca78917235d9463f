"""What the portal keeps in the engine's database (migration 0005): revocations, codes, forms acted on.

Rate limits count these rows, so they hold across intake replicas and restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select


class PortalRevocation(SQLModel, table=True):
    """Links of this person made up to `revoked_at` no longer open (a newer link does)."""

    account_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(primary_key=True, max_length=254)
    revoked_at: datetime
    revoked_by: str = Field(max_length=100)


class PortalCode(SQLModel, table=True):
    """A one-time code sent by email; only its keyed hash is stored."""

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(index=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(index=True)
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None


class PortalSubmission(SQLModel, table=True):
    """A form acted on: its key is the action's id, so a second submit acts once and says so."""

    key: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(index=True, max_length=64)
    email: str = Field(index=True, max_length=254)
    action: str = Field(max_length=40)
    step: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(index=True)
    outcome: str = Field(default="sending", max_length=20)  # sending | done | refused
    message: str = ""


def revoked_at(db_engine: Engine, account_id: str, email: str) -> datetime | None:
    with Session(db_engine) as db:
        row = db.get(PortalRevocation, (account_id, email.lower()))
        return row.revoked_at if row else None


def revoke(db_engine: Engine, account_id: str, email: str, by: str, now: datetime) -> None:
    """Every link of this person made until now stops opening; a later revoke moves the line."""
    with Session(db_engine) as db:
        row = db.get(PortalRevocation, (account_id, email.lower()))
        if row is None:
            row = PortalRevocation(account_id=account_id, email=email.lower(), revoked_at=now, revoked_by=by)
        row.revoked_at, row.revoked_by = now, by
        db.add(row)
        db.commit()


def codes_since(db_engine: Engine, account_id: str, email: str, since: datetime) -> int:
    with Session(db_engine) as db:
        query = select(func.count()).where(
            PortalCode.account_id == account_id, PortalCode.email == email, col(PortalCode.created_at) >= since
        )
        return int(db.exec(query).one())


def add_code(db_engine: Engine, code: PortalCode) -> None:
    with Session(db_engine, expire_on_commit=False) as db:
        db.add(code)
        db.commit()


def latest_code(db: Session, account_id: str, email: str) -> PortalCode | None:
    query = (
        select(PortalCode)
        .where(PortalCode.account_id == account_id, PortalCode.email == email)
        .order_by(col(PortalCode.id).desc())
    )
    return db.exec(query).first()


def actions_since(db_engine: Engine, account_id: str, email: str, since: datetime) -> int:
    with Session(db_engine) as db:
        query = select(func.count()).where(
            PortalSubmission.account_id == account_id,
            PortalSubmission.email == email,
            col(PortalSubmission.created_at) >= since,
        )
        return int(db.exec(query).one())


def claim(db_engine: Engine, row: PortalSubmission) -> PortalSubmission | None:
    """Store a form's key as acted on; None if it was, with the earlier row returned instead."""
    with Session(db_engine, expire_on_commit=False) as db:
        db.add(row)
        try:
            db.commit()
            return None
        except IntegrityError:
            db.rollback()
        earlier = db.get(PortalSubmission, row.key)
        assert earlier is not None
        return earlier


def settle(db_engine: Engine, key: str, outcome: str, message: str = "") -> None:
    with Session(db_engine) as db:
        row = db.get(PortalSubmission, key)
        if row is not None:
            row.outcome, row.message = outcome, message[:2000]
            db.add(row)
            db.commit()


def forget_old(db_engine: Engine, before: datetime) -> None:
    """Codes and forms older than any link's life are of no more use."""
    with Session(db_engine) as db:
        for model, column in ((PortalCode, PortalCode.created_at), (PortalSubmission, PortalSubmission.created_at)):
            for row in db.exec(select(model).where(col(column) < before)).all():
                db.delete(row)
        db.commit()


RETENTION = timedelta(days=90)
