"""Salesforce outbound messages from a record-triggered Flow on Opportunity.

    POST /webhooks/salesforce   a SOAP 1.1 envelope with up to 100 notifications

Outbound messages are not signed: a message from any org other than
SALESFORCE_ORGANIZATION_ID is refused (403, a SOAP fault), as is anything that is not an
outbound message (400). Every notification is stored (one row per notification Id) before
the answer `<Ack>true</Ack>`; if storing fails, the answer is a fault and Salesforce
delivers the message again. Redelivered and stale notifications (older than a change of the
same opportunity already handled) change nothing (intake/crm_processor.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from adapters.config import Settings
from adapters.crm import inbox, salesforce
from adapters.db import engine
from adapters.integration_tables import CrmInbox
from adapters.integrations import Integrations
from intake import crm_processor

log = logging.getLogger("intake.salesforce")
router = APIRouter()
MAX_BODY = 2 * 1024 * 1024
XML = "text/xml; charset=utf-8"


def fault(status: int, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{salesforce.SOAP}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=status, media_type=XML)


SOAP_BODY = {"text/xml": {"schema": {"type": "string"}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "<Ack>true</Ack>: every notification is stored", "content": SOAP_BODY},
    400: {"description": "Not an outbound message (a SOAP fault says why)", "content": SOAP_BODY},
    403: {"description": "From another Salesforce org (a SOAP fault)", "content": SOAP_BODY},
    404: {"description": "Salesforce is not configured (a SOAP fault)", "content": SOAP_BODY},
    413: {"description": "Body larger than 2 MiB (a SOAP fault)", "content": SOAP_BODY},
}


@router.post(
    "/webhooks/salesforce",
    response_class=Response,
    responses=RESPONSES,
    openapi_extra={"requestBody": {"required": True, "content": SOAP_BODY}},
)
async def outbound_message(request: Request) -> Response:
    """Acknowledge the notifications once every one of them is stored."""
    settings = Integrations.from_env().salesforce
    if settings is None:
        return fault(404, "Salesforce is not configured (SALESFORCE_ORGANIZATION_ID)")
    body = await request.body()
    if len(body) > MAX_BODY:
        return fault(413, f"body larger than {MAX_BODY} bytes")
    try:
        message = salesforce.parse(body)
    except salesforce.BadMessage as e:
        return fault(400, str(e))
    if not salesforce.same_org(settings.organization_id, message.organization_id):
        log.warning("refused a Salesforce outbound message from another organization")
        return fault(403, "OrganizationId: this message does not come from the configured Salesforce org")
    now = datetime.now(UTC)
    try:
        rows = [
            CrmInbox(
                event_id=f"salesforce:{n.id}",
                crm="salesforce",
                record_id=n.record_id,
                occurred_at=n.modified_at,
                payload=n.fields,
                next_attempt_at=now,
                received_at=now,
            )
            for n in message.notifications
            if n.object_type in ("", "Opportunity")
        ]
    except (salesforce.BadMessage, ValueError) as e:
        return fault(400, str(e))
    new = await run_in_threadpool(_store, Settings.from_env().database_url, rows)
    log.info("Salesforce: %d notification(s), %d new", len(message.notifications), new)
    crm_processor.wake(request.app)
    return Response(salesforce.ACK, media_type=XML)


def _store(url: str, rows: list[CrmInbox]) -> int:
    with Session(engine(url)) as db:
        return inbox.store(db, rows)
