"""Write the onboarding's phase and status back onto the CRM deal it came from.

Only accounts started from a CRM deal have a CrmLink; for every other account, and for
timeline rows that change neither phase nor status, the activity does nothing. Rows are
written in the journey's order: a row older than the last one written (a retry arriving
late) changes nothing. HubSpot's rate limits and outages are retried; a refusal (a missing
property, a revoked token) is not, and the workflow goes on without it.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.config import Settings
from adapters.crm import hubspot
from adapters.db import engine
from adapters.integration_tables import CrmLink
from adapters.integrations import Integrations
from onboarding.effects import TimelineEntry

STATUS_OF = {
    "phase": "active",
    "resumed": "active",
    "paused": "paused",
    "completed": "completed",
    "cancelled": "cancelled",
}


class Crm:
    """The CRM side of an onboarding: its deal shows where the onboarding is."""

    def __init__(self, settings: Settings, integrations: Integrations | None = None) -> None:
        self.integrations = integrations or Integrations.from_env()
        self.engine: Engine = engine(settings.database_url)

    @activity.defn
    def sync_deal(self, entry: TimelineEntry) -> bool:
        """Write phase and status for a phase/completed/cancelled/paused/resumed row; True when written."""
        status = STATUS_OF.get(entry.kind)
        if status is None:
            return False
        with Session(self.engine) as db:
            link = db.exec(select(CrmLink).where(CrmLink.account_id == entry.account_id)).first()
            if link is None or link.crm != "hubspot" or self.integrations.hubspot is None:
                return False
            if link.synced_at is not None and (entry.at, entry.seq) <= (link.synced_at, link.synced_seq):
                return False
            phase = entry.name if entry.kind == "phase" else None
            try:
                hubspot.write_back(self.integrations.hubspot, link.record_id, phase, status)
            except hubspot.HubSpotError as e:
                kind = "CrmUnavailable" if e.retryable else "CrmRefused"
                raise ApplicationError(str(e), type=kind, non_retryable=not e.retryable) from None
            link.synced_at, link.synced_seq = entry.at, entry.seq
            db.add(link)
            db.commit()
            return True
