"""SendGrid's Event Webhook and the one-click unsubscribe link.

    POST /webhooks/sendgrid   signed events: outbox, suppressions, `email_feedback` signals
    GET  /email/unsubscribe   a page with one button (link scanners follow GETs: nothing changes)
    POST /email/unsubscribe   the unsubscribe itself: the button, or RFC 8058 one-click from the inbox

Events are verified with the `sendgrid` package's EventWebhook helper over the raw body
(SENDGRID_WEBHOOK_PUBLIC_KEY), applied once each (WebhookEvent), and answered 204 as soon as
their signals are in Temporal. If Temporal cannot take a signal, the events that needed it are
forgotten and the answer is 503, so SendGrid delivers them again; a replayed old batch is
harmless because applied events are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.config import Settings
from adapters.db import Account, OutboxEmail, engine
from adapters.email import links, outbox, pages, suppressions, webhook
from onboarding.messages import EmailFeedback
from service import send
from service.bodies import BadBody, read_json

log = logging.getLogger("intake.sendgrid")
router = APIRouter()
MAX_BODY = 5 * 1024 * 1024


@router.post("/webhooks/sendgrid", status_code=204, response_class=Response)
async def sendgrid_events(request: Request) -> Response:
    """SendGrid's Event Webhook: a signed JSON array of events."""
    settings = Settings.from_env()
    if not settings.sendgrid_webhook_public_key:
        raise HTTPException(503, "SENDGRID_WEBHOOK_PUBLIC_KEY is not set, so events cannot be verified")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"body larger than {MAX_BODY} bytes")
    signature = request.headers.get(webhook.SIGNATURE_HEADER, "")
    timestamp = request.headers.get(webhook.TIMESTAMP_HEADER, "")
    if not webhook.signed(settings.sendgrid_webhook_public_key, body, signature, timestamp):
        log.warning("refused SendGrid events: missing or invalid signature")
        raise HTTPException(401, f"{webhook.SIGNATURE_HEADER}: missing or not valid for this body")
    try:
        events = read_json(body)
    except BadBody as e:
        raise HTTPException(400, f"body: {e}; expected a JSON array of SendGrid events") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise HTTPException(400, "body: expected a JSON array of SendGrid events (objects)")
    signals = await run_in_threadpool(_apply, settings.database_url, events)
    undelivered = await _signal(request.app.state.client, signals)
    if undelivered:
        await run_in_threadpool(_forget, settings.database_url, undelivered)
        raise HTTPException(503, "Temporal did not take every signal; deliver the events again")
    return Response(status_code=204)


def _apply(url: str, events: list[dict[str, Any]]) -> list[webhook.Signal]:
    with Session(engine(url)) as db:
        try:
            return webhook.apply(db, events, datetime.now(UTC))
        except IntegrityError:  # the same events, delivered twice at once: the other delivery applies them
            raise HTTPException(503, "these events are being applied by another delivery; deliver again") from None


def _forget(url: str, event_ids: list[str]) -> None:
    with Session(engine(url)) as db:
        webhook.forget(db, event_ids)


async def _feedback(client: Client, workflow_id: str, feedback: EmailFeedback) -> bool:
    """Signal the onboarding; True when it took the signal or has ended (nothing left to tell)."""
    try:
        await send.signal(client.get_workflow_handle(workflow_id), feedback)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return True
        log.error("could not signal %s: %s", workflow_id, e)
        return False
    return True


async def _signal(client: Client, signals: list[webhook.Signal]) -> list[str]:
    """Send every signal; returns the event ids whose signal Temporal did not take."""
    done = await asyncio.gather(*(_feedback(client, s.workflow_id, s.feedback) for s in signals))
    return [s.event_id for s, ok in zip(signals, done, strict=True) if not ok]


# ---- unsubscribe -------------------------------------------------------------------------


def _email(settings: Settings, key: str, signature: str) -> tuple[OutboxEmail, str]:
    """The email an unsubscribe link came from, and the locale to answer in."""
    if not links.valid(settings, key, signature):
        raise HTTPException(403, "this unsubscribe link is not valid")
    with Session(engine(settings.database_url)) as db:
        row = outbox.find(db, key)
        if row is None:
            raise HTTPException(404, "this unsubscribe link is no longer valid")
        account = db.get(Account, row.account_id)
        return row, account.locale if account else "en"


@router.get("/email/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(request: Request, m: str, sig: str) -> HTMLResponse:
    """Ask before unsubscribing: mail scanners open links, only a person presses the button."""
    _row, locale = _email(Settings.from_env(), m, sig)
    return HTMLResponse(pages.unsubscribe(locale, done=False, action=f"?{request.url.query}"))


@router.post("/email/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, m: str, sig: str) -> HTMLResponse:
    """Stop onboarding email to this address, and tell the onboarding."""
    settings = Settings.from_env()
    row, locale = await run_in_threadpool(_email, settings, m, sig)
    await run_in_threadpool(_suppress, settings.database_url, row.to_email)
    feedback = EmailFeedback(kind="unsubscribe", id=f"unsubscribe:{row.key}", template=row.template, role=row.to_role)
    if not await _feedback(request.app.state.client, row.workflow_id, feedback):
        log.warning("unsubscribe from %s recorded; the onboarding was not told", row.key)
    return HTMLResponse(pages.unsubscribe(locale, done=True, action=f"?{request.url.query}"))


def _suppress(url: str, email: str) -> None:
    with Session(engine(url)) as db:
        suppressions.suppress(db, email, "unsubscribe", datetime.now(UTC))
        db.commit()
