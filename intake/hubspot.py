"""HubSpot's Webhooks API: a deal moved to a closed-won stage.

    POST /webhooks/hubspot   a JSON array of events (up to 100), signed with X-HubSpot-Signature-v3

The signature is checked as HubSpot documents it: base64 HMAC-SHA256, keyed by the app's
client secret, of method + the target URL as registered (HUBSPOT_WEBHOOK_URL) + the raw
body + X-HubSpot-Request-Timestamp; a request signed more than 5 minutes ago (or ahead) is
refused with 401. `deal.propertyChange` events on `dealstage` into a configured
closed-won stage are stored (one row per eventId: HubSpot's retries add nothing) and the
answer goes back at once (HubSpot waits 5 s at most); the deal is read and its onboarding
started afterwards (intake/crm_processor.py). Other events are acknowledged and ignored.
"""

from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from hubspot.utils.signature import Signature
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from adapters.config import Settings
from adapters.crm import inbox
from adapters.db import engine
from adapters.integration_tables import CrmInbox
from adapters.integrations import HubSpotSettings, Integrations
from intake import crm_processor
from service.bodies import BadBody, read_json

log = logging.getLogger("intake.hubspot")
router = APIRouter()
SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_BODY = 1024 * 1024
STAGE_EVENTS = ("deal.propertyChange", "object.propertyChange")
KEEP = ("eventId", "subscriptionType", "portalId", "occurredAt", "objectId", "propertyName", "propertyValue")
_DECODED = ":/?@!$'(),*="  # HubSpot decodes these in the URI before signing


def signed_uri(registered: str, query: str) -> str:
    """The URI HubSpot signs: the target URL with its query, with some characters URL-decoded."""
    uri = registered if not query or "?" in registered else f"{registered}?{query}"
    for char in _DECODED:
        uri = uri.replace(f"%{ord(char):02X}", char).replace(f"%{ord(char):02x}", char)
    return uri


def verify(settings: HubSpotSettings, method: str, uri: str, body: bytes, signature: str, timestamp: str) -> None:
    """Raise HTTPException(401) unless HubSpot signed this request within the last 5 minutes."""
    if not signature or not timestamp:
        raise HTTPException(401, f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp) / 1000) > settings.max_age_seconds:
        raise HTTPException(401, f"{TIMESTAMP_HEADER}: missing, malformed or more than 5 minutes away from now")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "body: expected UTF-8 JSON") from None
    expected = Signature.get_signature(settings.client_secret, text, "v3", uri, method, timestamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise HTTPException(401, f"{SIGNATURE_HEADER}: not valid for this request (check the client secret and URL)")


def closed_won_rows(settings: HubSpotSettings, events: list[Any], now: datetime) -> list[CrmInbox]:
    """The events that may mean a won deal, as inbox rows (the processor checks the pipeline)."""
    rows = []
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise HTTPException(400, f"[{i}]: expected an event object")
        if event.get("subscriptionType") not in STAGE_EVENTS or event.get("propertyName") != "dealstage":
            continue
        if event.get("subscriptionType") == "object.propertyChange" and event.get("objectTypeId") != "0-3":
            continue  # a stage change of another object type (tickets also have stages)
        if not settings.maybe_closed_won(str(event.get("propertyValue", ""))):
            continue
        event_id, object_id, occurred = event.get("eventId"), event.get("objectId"), event.get("occurredAt")
        if not isinstance(event_id, int) or not isinstance(object_id, int) or not isinstance(occurred, int):
            raise HTTPException(400, f"[{i}]: eventId, objectId and occurredAt must be numbers")
        rows.append(
            CrmInbox(
                event_id=f"hubspot:{event_id}",
                crm="hubspot",
                record_id=str(object_id),
                occurred_at=datetime.fromtimestamp(occurred / 1000, UTC),
                payload={k: event[k] for k in KEEP if k in event},
                next_attempt_at=now,
                received_at=now,
            )
        )
    return rows


PROBLEM = {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    204: {"description": "Stored (or not a closed-won stage change): the onboarding starts right after"},
    400: {"description": "Not a JSON array of HubSpot events", "content": PROBLEM},
    401: {"description": "Missing, wrong or stale X-HubSpot-Signature-v3", "content": PROBLEM},
    404: {"description": "HubSpot is not configured", "content": PROBLEM},
    413: {"description": "Body larger than 1 MiB", "content": PROBLEM},
}
BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}, "maxItems": 100}}},
    }
}


@router.post("/webhooks/hubspot", status_code=204, response_class=Response, responses=RESPONSES, openapi_extra=BODY)
async def hubspot_events(request: Request) -> Response:
    """HubSpot deal stage changes: stored at once, processed after the answer."""
    settings = Integrations.from_env().hubspot
    if settings is None:
        raise HTTPException(404, "HubSpot is not configured (HUBSPOT_ACCESS_TOKEN, HUBSPOT_CLIENT_SECRET, ...)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise HTTPException(413, f"body larger than {MAX_BODY} bytes")
    body = await request.body()
    uri = signed_uri(settings.webhook_url, request.url.query)
    try:
        verify(
            settings,
            request.method,
            uri,
            body,
            request.headers.get(SIGNATURE_HEADER, ""),
            request.headers.get(TIMESTAMP_HEADER, ""),
        )
    except HTTPException as e:
        if e.status_code == 401:
            log.warning("refused HubSpot webhook: %s", e.detail)
        raise
    try:
        events = read_json(body)
    except BadBody as e:
        raise HTTPException(400, f"body: {e}; expected a JSON array of HubSpot events") from None
    if not isinstance(events, list):
        raise HTTPException(400, "body: expected a JSON array of HubSpot events")
    rows = closed_won_rows(settings, events, datetime.now(UTC))
    if rows:
        new = await run_in_threadpool(_store, Settings.from_env().database_url, rows)
        log.info("HubSpot: %d closed-won event(s), %d new", len(rows), new)
        crm_processor.wake(request.app)
    return Response(status_code=204)


def _store(url: str, rows: list[CrmInbox]) -> int:
    with Session(engine(url)) as db:
        return inbox.store(db, rows)
