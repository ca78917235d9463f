"""The integrations' own records: what the CRMs delivered, which CRM record each account came
from, and which chat message shows each escalation.

Hand-written migration: migrations/versions/0004_integrations.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class CrmInbox(SQLModel, table=True):
    """One CRM notification, stored before the CRM is answered, processed afterwards.

    `event_id` is unique (HubSpot's eventId, Salesforce's notification Id): a redelivery
    finds its row and adds nothing. A row waits as 'pending' until the processor settles
    it: started | already | stale | ignored | refused, or 'failed' after its last attempt.
    """

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=200)
    crm: str = Field(max_length=20)
    record_id: str = Field(index=True, max_length=40)
    occurred_at: datetime
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = Field(index=True)
    claimed_until: datetime | None = None
    account_id: str | None = Field(default=None, max_length=64)
    outcome: str = ""
    received_at: datetime


class CrmLink(SQLModel, table=True):
    """The CRM record an account's onboarding came from: the write-back target."""

    __table_args__ = (UniqueConstraint("crm", "record_id"),)
    account_id: str = Field(primary_key=True, max_length=64)
    crm: str = Field(max_length=20)
    record_id: str = Field(max_length=40)
    last_change_at: datetime
    """The newest change that started (or was refused for) this account: older notifications are stale."""
    synced_at: datetime | None = None
    synced_seq: int = 0
    """The timeline row last written back (its time and seq): an older row retried late changes nothing."""
    created_at: datetime


class ChatNotice(SQLModel, table=True):
    """An escalation or task posted to Slack and/or Teams (one row per task key)."""

    key: str = Field(primary_key=True, max_length=300)
    account_id: str = Field(index=True, max_length=64)
    workflow_id: str = Field(max_length=100)
    slack_channel: str | None = Field(default=None, max_length=40)
    slack_ts: str | None = Field(default=None, max_length=40)
    teams_posted: bool = False
    view: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """What the message shows besides its state: company, kind, title, reason, assignee, due_at, by, at."""
    state: str = Field(default="open", max_length=20)
    """open | claimed | resolved | escalated_up: what the message shows."""
    updated_at: datetime
