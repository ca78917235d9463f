"""Email through the real workflow, worker and time-skipping server, with SendGrid stood in on
127.0.0.1 and its Event Webhook posted, signed, to our real FastAPI router."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from pytest_httpserver import HTTPServer
from sqlmodel import Session, func, select
from temporalio.testing import WorkflowEnvironment
from werkzeug import Request, Response

from adapters.config import Settings
from adapters.db import OutboxEmail, Suppression, WebhookEvent, engine
from adapters.email.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from intake.sendgrid_events import router
from tests.conftest import Run

Onboard = Callable[..., Awaitable[Run]]  # the `onboard` fixture in conftest.py

Handler = Callable[[dict[str, Any], int], Response]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def webhook_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


class SendGrid:
    """The stand-in: what it received (template names, in order) and how it answers."""

    def __init__(self, server: HTTPServer) -> None:
        self.received: list[dict[str, Any]] = []
        self.answer: Handler = lambda mail, n: Response("", status=202, headers={"X-Message-Id": f"msg-{n}"})
        server.expect_request("/v3/mail/send", method="POST").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        mail = request.get_json()
        self.received.append(mail)
        return self.answer(mail, len(self.received))

    def templates(self) -> list[str]:
        return [m["categories"][1] for m in self.received]


@pytest.fixture
def sendgrid(  # tests name it before `onboard`: the worker reads the settings when it is built
    stand_in: HTTPServer, webhook_key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Iterator[SendGrid]:
    monkeypatch.setenv("EMAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test-key")
    monkeypatch.setenv("SENDGRID_HOST", stand_in.url_for("").rstrip("/"))
    monkeypatch.setenv("SENDGRID_TIMEOUT", "0.5")
    monkeypatch.setenv("EMAIL_LINK_SECRET", "test-secret-for-unsubscribe-links")
    monkeypatch.setenv("EMAIL_CONFIRM_WINDOW", "120")
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", public_key(webhook_key))
    yield SendGrid(stand_in)
    stand_in.clear()


@pytest_asyncio.fixture
async def intake(env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(router)
    app.state.client = env.client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


def event(kind: str, row: OutboxEmail, **fields: Any) -> dict[str, Any]:
    """A SendGrid event as the webhook posts it: our custom args come back as top-level fields."""
    return {
        "email": row.to_email,
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": f"evt-{uuid.uuid4().hex}",
        "sg_message_id": f"{row.provider_message_id or 'lost'}.filterdrecv-5645d9c87f-6r2ch-1-5E9F1B1C-2.0",
        "message_key": row.key,
        "workflow_id": row.workflow_id,
        **fields,
    }


async def post_events(
    intake: httpx.AsyncClient, key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]]
) -> httpx.Response:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time()))
    signature = base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: timestamp, "Content-Type": "application/json"}
    return await intake.post("/webhooks/sendgrid", content=body, headers=headers)


def outbox(settings: Settings, template: str) -> OutboxEmail:
    with Session(engine(settings.database_url)) as db:
        return db.exec(select(OutboxEmail).where(OutboxEmail.template == template)).one()


async def until(settings: Settings, template: str, ready: Callable[[OutboxEmail], bool]) -> OutboxEmail:
    """Wait (real time, briefly) for the worker to bring a row to a state."""
    for _ in range(200):
        with Session(engine(settings.database_url)) as db:
            row = db.exec(select(OutboxEmail).where(OutboxEmail.template == template)).first()
        if row and ready(row):
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {template} row never got there")


def lose_the_answer_to(template: str) -> Handler:
    """SendGrid takes the email, but its answer arrives after the client gave up (SENDGRID_TIMEOUT)."""

    def answer(mail: dict[str, Any], n: int) -> Response:
        if mail["categories"][1] == template:
            time.sleep(1.0)
        return Response("", status=202, headers={"X-Message-Id": f"msg-{n}"})

    return answer


def answered(row: OutboxEmail) -> bool:
    return row.status == "sending" and bool(row.error)


async def test_a_lost_answer_is_settled_by_the_webhook_and_never_sent_twice(
    env: WorkflowEnvironment,
    sendgrid: SendGrid,
    onboard: Onboard,
    intake: httpx.AsyncClient,
    webhook_key: ec.EllipticCurvePrivateKey,
    settings: Settings,
) -> None:
    sendgrid.answer = lose_the_answer_to("welcome")
    run = await onboard("smb")
    row = await until(settings, "welcome", answered)  # attempt 1 failed after SendGrid took the mail

    await env.sleep(timedelta(minutes=1))  # attempt 2 finds 'sending': it waits, it does not send
    assert sendgrid.templates() == ["welcome"] and run.emails() == []

    processed = await post_events(intake, webhook_key, [event("processed", row)])
    assert processed.status_code == 204
    await env.sleep(timedelta(minutes=1))

    assert sendgrid.templates() == ["welcome"]
    assert run.emails() == [(0, "welcome", "champion")]
    row = outbox(settings, "welcome")
    assert (row.status, row.provider_message_id) == ("sent", "lost")


async def test_no_confirmation_asks_a_person_instead_of_sending_again(
    env: WorkflowEnvironment,
    sendgrid: SendGrid,
    onboard: Onboard,
    intake: httpx.AsyncClient,
    webhook_key: ec.EllipticCurvePrivateKey,
    settings: Settings,
) -> None:
    sendgrid.answer = lose_the_answer_to("welcome")
    run = await onboard("smb")
    await until(settings, "welcome", answered)

    await env.sleep(timedelta(minutes=5))  # past EMAIL_CONFIRM_WINDOW, no webhook event

    [task] = [t for t in run.tasks() if t.rule == "email_failed"]
    assert task.reason.startswith("Email 'welcome' to the champion was refused: SendGrid never confirmed it")
    assert "resend by hand" in task.reason
    assert sendgrid.templates() == ["welcome", "escalation"]  # the CSM is told; the customer got one copy
    assert outbox(settings, "welcome").status == "unconfirmed"

    delivered = await post_events(intake, webhook_key, [event("delivered", outbox(settings, "welcome"))])
    assert delivered.status_code == 204  # a late event still settles the record
    assert outbox(settings, "welcome").status == "sent"


async def test_a_refused_address_escalates_with_sendgrids_reason(
    env: WorkflowEnvironment, sendgrid: SendGrid, onboard: Onboard, settings: Settings
) -> None:
    def answer(mail: dict[str, Any], n: int) -> Response:
        if mail["categories"][1] == "welcome":
            error = {"field": "personalizations.0.to.0.email", "message": "Does not contain a valid address."}
            return Response(json.dumps({"errors": [error]}), status=400, content_type="application/json")
        return Response("", status=202)

    sendgrid.answer = answer
    run = await onboard("smb")
    await env.sleep(timedelta(minutes=1))

    [task] = [t for t in run.tasks() if t.rule == "email_failed"]
    assert task.reason == (
        "Email 'welcome' to the champion was refused: SendGrid refused it (HTTP 400): "
        "personalizations.0.to.0.email: Does not contain a valid address. "
        "Check the recipient's email address and the sender settings. "
        f"Correct the address with: python admin.py contact {run.contract.account_id} champion --email ..."
    )
    assert sendgrid.templates() == ["welcome", "escalation"]
    assert outbox(settings, "welcome").status == "failed"


async def test_a_rate_limit_is_waited_out(env: WorkflowEnvironment, sendgrid: SendGrid, onboard: Onboard) -> None:
    def answer(mail: dict[str, Any], n: int) -> Response:
        if n == 1:
            headers = {"X-RateLimit-Reset": str(int(time.time()) + 60)}
            return Response('{"errors":[{"message":"too many requests"}]}', status=429, headers=headers)
        return Response("", status=202)

    sendgrid.answer = answer
    run = await onboard("smb")
    await env.sleep(timedelta(seconds=30))
    assert run.emails() == [] and sendgrid.templates() == ["welcome"]
    await env.sleep(timedelta(seconds=45))
    assert run.emails() == [(0, "welcome", "champion")]
    assert sendgrid.templates() == ["welcome", "welcome"]


async def test_a_forged_webhook_is_refused_and_changes_nothing(
    env: WorkflowEnvironment, sendgrid: SendGrid, onboard: Onboard, intake: httpx.AsyncClient, settings: Settings
) -> None:
    run = await onboard("smb")
    row = await until(settings, "welcome", lambda r: r.status == "sent")
    forger = ec.generate_private_key(ec.SECP256R1())

    forged = await post_events(intake, forger, [event("spamreport", row)])
    unsigned = await intake.post("/webhooks/sendgrid", json=[event("spamreport", row)])

    assert forged.status_code == unsigned.status_code == 401
    assert SIGNATURE_HEADER in forged.json()["detail"]
    with Session(engine(settings.database_url)) as db:
        assert db.exec(select(func.count()).select_from(WebhookEvent)).one() == 0
        assert db.exec(select(Suppression)).all() == []
    await env.sleep(timedelta(minutes=1))
    assert [t.rule for t in run.tasks()] == []


async def test_a_duplicate_bounce_is_applied_once_and_the_address_is_suppressed(
    env: WorkflowEnvironment,
    sendgrid: SendGrid,
    onboard: Onboard,
    intake: httpx.AsyncClient,
    webhook_key: ec.EllipticCurvePrivateKey,
    settings: Settings,
) -> None:
    run = await onboard("smb")
    row = await until(settings, "welcome", lambda r: r.status == "sent")
    bounce = event("bounce", row, type="bounce", reason="550 5.1.1 The email account does not exist.")

    first = await post_events(intake, webhook_key, [bounce])
    again = await post_events(intake, webhook_key, [bounce])  # SendGrid delivers at least once
    assert first.status_code == again.status_code == 204
    await env.sleep(timedelta(days=1, hours=1))

    assert [h.name for h in run.timeline("event")].count("email_bounce") == 1
    assert [t.rule for t in run.tasks()].count("email_bounce") == 1
    with Session(engine(settings.database_url)) as db:
        assert db.exec(select(func.count()).select_from(WebhookEvent)).one() == 1
        assert db.get(Suppression, row.to_email).reason == "bounce"  # type: ignore[union-attr]
    # The next email to the champion is not sent; the CSM's reminder is.
    assert (1, "setup_day1", "champion") not in run.emails()
    assert (1, "personal_welcome_reminder", "csm") in run.emails()
    assert outbox(settings, "setup_day1").status == "suppressed"
    assert "email_suppressed" in [h.name for h in run.timeline("event")]
    assert "setup_day1" not in sendgrid.templates()


async def test_opening_customer_mail_counts_as_activity(
    env: WorkflowEnvironment,
    sendgrid: SendGrid,
    onboard: Onboard,
    intake: httpx.AsyncClient,
    webhook_key: ec.EllipticCurvePrivateKey,
    settings: Settings,
) -> None:
    run = await onboard("smb")
    welcome = await until(settings, "welcome", lambda r: r.status == "sent")
    await env.sleep(timedelta(days=2, hours=1))
    reminder = outbox(settings, "personal_welcome_reminder")
    assert (await run.status()).days_since_last_activity >= 2

    opened = await post_events(intake, webhook_key, [event("open", welcome), event("open", reminder)])
    assert opened.status_code == 204
    await env.sleep(timedelta(minutes=1))

    assert (await run.status()).days_since_last_activity < 0.01
    assert [(h.name, h.to) for h in run.timeline("event")] == [("email_open", "champion")]  # staff opens don't count


async def test_one_click_unsubscribe_stops_onboarding_mail(
    env: WorkflowEnvironment, sendgrid: SendGrid, onboard: Onboard, intake: httpx.AsyncClient, settings: Settings
) -> None:
    run = await onboard("smb")
    await until(settings, "welcome", lambda r: r.status == "sent")
    link = sendgrid.received[0]["headers"]["List-Unsubscribe"].strip("<>").removeprefix("http://localhost:8000")

    page = await intake.get(link)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert (await intake.get(link.replace("sig=", "sig=0"))).status_code == 403
    with Session(engine(settings.database_url)) as db:
        assert db.exec(select(Suppression)).all() == []  # looking at the page changes nothing

    done = await intake.post(link, content="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    await env.sleep(timedelta(days=1, hours=1))

    assert "email_unsubscribe" in [h.name for h in run.timeline("event")]
    assert outbox(settings, "setup_day1").status == "suppressed"
    assert "setup_day1" not in sendgrid.templates()


async def test_the_local_outbox_writes_an_eml_a_person_can_open(
    env: WorkflowEnvironment, onboard: Onboard, settings: Settings
) -> None:
    run = await onboard("smb")
    row = await until(settings, "welcome", lambda r: r.status == "sent")
    assert row.provider_message_id is not None
    path = settings.outbox_dir / row.provider_message_id
    mail = message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(mail, EmailMessage)

    assert mail["To"] == f"{run.contract.contacts[0].name} <{run.contract.contacts[0].email}>"
    assert mail["Subject"] == row.subject and mail["X-Onboarding-Key"] == row.key
    assert mail["List-Unsubscribe"].startswith("<http://localhost:8000/email/unsubscribe?m=")
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == row.text and html.get_content().strip() == row.html.strip()


async def test_a_provider_refusing_everything_opens_one_task_per_touch_and_settles(
    env: WorkflowEnvironment, sendgrid: SendGrid, onboard: Onboard, settings: Settings
) -> None:
    """A revoked API key: each customer touch opens one task; the refused notices about those
    tasks are recorded, not escalated again (that looped forever)."""
    sendgrid.answer = lambda mail, n: Response('{"errors": [{"message": "invalid key"}]}', status=401)
    run = await onboard("smb")
    await run.settled()
    tasks = [t.key for t in run.tasks() if t.rule == "email_failed"]
    assert len(tasks) == 1 and tasks[0].endswith("/email_failed.signed.welcome")
    assert sendgrid.templates() == ["welcome", "escalation"]
    assert [(h.name, h.to) for h in run.timeline("event")] == [("email_failed", "csm")]
    history = await run.latest.fetch_history()
    assert len(history.events) < 100
