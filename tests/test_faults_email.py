"""SendGrid having a bad day, through a whole batch: 500s, 429 with a reset, a connection that
hangs past the client timeout, an answer lost after the mail was accepted, and a few permanent
refusals. No email is lost, none reaches an inbox twice, and only the permanent refusals
escalate to a person.

The real workflow, worker and `sendgrid` client on the time-skipping server; the provider is a
stand-in on 127.0.0.1 that answers each email's attempts by a fixed plan (chosen from the email's
key, so a run is repeatable) and, like SendGrid, posts a signed `processed` event to our real
Event Webhook for every email it accepted: that event is how an email whose answer was lost
gets settled without sending it again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.testing import WorkflowEnvironment

import starter
from adapters.config import Settings
from adapters.db import HumanTask, Onboarding, OutboxEmail, engine
from adapters.email.render import available
from adapters.email.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from intake.sendgrid_events import router
from onboarding import playbook
from onboarding.messages import ProductEvent, ResolveEscalation, SuccessCriteriaMet
from service import send
from tests.conftest import contract
from tests.faults import audit
from tests.test_scale_out import EMAILS_EACH, ESCALATION, FAST, TIMELINE_EACH
from workflows.onboarding import OnboardingWorkflow as W

BATCH = 24
CLIENT_TIMEOUT = 0.5  # SENDGRID_TIMEOUT: the stand-in's hung connections outlast it
# How the provider answers an email's first, second, ... attempt; the last answer repeats.
PLANS: list[tuple[str, ...]] = [
    ("accept",),
    ("500", "accept"),
    ("500", "500", "accept"),
    ("429", "accept"),
    ("hang",),  # takes the mail, answers only after the client has given up
    ("lose",),  # takes the mail, drops the connection before answering
    ("accept",),
    ("503", "429", "accept"),
]
TAKES = {"accept", "hang", "lose"}  # answers after which the provider has the email
REFUSED_TEMPLATE = "reengagement"  # refused for good (a bad address) in two of the onboardings


def plan_for(key: str) -> tuple[str, ...]:
    return PLANS[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(PLANS)]


class Provider(ThreadingHTTPServer):
    """The SendGrid stand-in: per email key, the attempts it saw and whether it took the email."""

    daemon_threads = True

    def __init__(self, refuse: set[str]) -> None:
        super().__init__(("127.0.0.1", 0), Answer)
        self.refuse = refuse  # account ids whose REFUSED_TEMPLATE gets a permanent 400
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.took: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.unannounced: list[dict[str, Any]] = []  # accepted mails whose webhook event is not posted yet

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def answer(self, mail: dict[str, Any]) -> str:
        key = mail["custom_args"]["message_key"]
        account = mail["custom_args"]["workflow_id"].removeprefix("onboarding-")
        with self.lock:
            self.attempts[key] += 1
            if mail["categories"][1] == REFUSED_TEMPLATE and account in self.refuse:
                answer = "400"
            else:
                plan = plan_for(key)
                answer = plan[min(self.attempts[key], len(plan)) - 1]
            if answer in TAKES:
                self.took[key] += 1
                self.unannounced.append(mail)
            if answer != "accept":
                self.faults[answer] += 1
            return answer


class Answer(BaseHTTPRequestHandler):
    server: Provider

    def do_POST(self) -> None:
        mail = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = self.server.answer(mail)
        if answer == "lose":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if answer == "hang":
            time.sleep(CLIENT_TIMEOUT * 3)
        status, headers, body = {
            "accept": (202, {"X-Message-Id": uuid.uuid4().hex[:16]}, b""),
            "hang": (202, {"X-Message-Id": uuid.uuid4().hex[:16]}, b""),
            "500": (500, {}, b'{"errors":[{"message":"internal error"}]}'),
            "503": (503, {}, b'{"errors":[{"message":"service unavailable"}]}'),
            "429": (429, {"X-RateLimit-Reset": str(int(time.time()) + 2)}, b'{"errors":[{"message":"too many"}]}'),
            "400": (
                400,
                {},
                b'{"errors":[{"field":"personalizations.0.to.0.email","message":"Does not contain a valid address."}]}',
            ),
        }[answer]
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up on a hung connection

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refused_accounts() -> set[str]:
    return {"flaky-000", "flaky-001"}


@pytest.fixture
def provider(refused_accounts: set[str]) -> Iterator[Provider]:
    server = Provider(refused_accounts)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def sendgrid(
    provider: Provider, webhook_key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> Provider:
    public = webhook_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for name, value in {
        "EMAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": "SG.fault-test-key",
        "SENDGRID_HOST": provider.url,
        "SENDGRID_TIMEOUT": str(CLIENT_TIMEOUT),
        "EMAIL_LINK_SECRET": "fault-test-secret-for-unsubscribe-links",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(public).decode(),
    }.items():
        monkeypatch.setenv(name, value)
    return provider


@pytest_asyncio.fixture
async def webhook(env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    """Our real Event Webhook route, reached in-process."""
    app = FastAPI()
    app.include_router(router)
    app.state.client = env.client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
        yield client


async def announce(provider: Provider, webhook: httpx.AsyncClient, key: ec.EllipticCurvePrivateKey) -> None:
    """Post a signed `processed` event for each email the provider took since the last call."""
    with provider.lock:
        mails, provider.unannounced = provider.unannounced, []
    if not mails:
        return
    events = [
        {
            "email": m["personalizations"][0]["to"][0]["email"],
            "timestamp": int(time.time()),
            "event": "processed",
            "sg_event_id": f"evt-{uuid.uuid4().hex}",
            "sg_message_id": f"{uuid.uuid4().hex[:16]}.filter-1",
            **m["custom_args"],
        }
        for m in mails
    ]
    body = json.dumps(events).encode()
    stamp = str(int(time.time()))
    signature = base64.b64encode(key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: stamp, "Content-Type": "application/json"}
    response = await webhook.post("/webhooks/sendgrid", content=body, headers=headers)
    assert response.status_code == 204, response.text


async def test_a_flaky_provider_loses_nothing_duplicates_nothing_and_escalates_only_refusals(
    env: WorkflowEnvironment,
    sendgrid: Provider,  # before task_queue: the worker is built with SendGrid's settings
    task_queue: str,
    settings: Settings,
    webhook: httpx.AsyncClient,
    webhook_key: ec.EllipticCurvePrivateKey,
    refused_accounts: set[str],
) -> None:
    fast = playbook.load(FAST, available())
    accounts = [f"flaky-{i:03d}" for i in range(BATCH)]
    now = await env.get_current_time()
    for account in accounts:
        signed = starter.parse_contract(json.dumps(contract("smb", account_id=account)), now)
        await starter.start(env.client, signed, fast, task_queue=task_queue)

    def count(query: Any) -> int:
        with Session(engine(settings.database_url)) as db:
            return int(db.exec(query).one())

    async def advance_until(what: str, done: Any, limit: timedelta = timedelta(minutes=10)) -> None:
        """Move virtual time a second at a time, the provider's webhook events posted between steps."""
        waited = timedelta()
        while not done():
            assert waited < limit, f"{what}: not after {limit} of virtual time"
            await announce(sendgrid, webhook, webhook_key)
            await env.sleep(timedelta(seconds=1))
            waited += timedelta(seconds=1)

    escalated = select(func.count()).select_from(HumanTask).where(HumanTask.rule == "no_login_escalation")
    await advance_until("every customer escalated", lambda: count(escalated) == BATCH)
    handles = [env.client.get_workflow_handle_for(W.run, f"onboarding-{a}") for a in accounts]
    for handle in handles:
        await send.act(handle, ResolveEscalation(escalation=ESCALATION, by="csm-ana"))
        await send.signal(handle, ProductEvent(name="first_login", id="login-1"))
    validating = select(func.count()).select_from(Onboarding).where(Onboarding.phase == "success_validation")
    await advance_until("every customer at the success check", lambda: count(validating) == BATCH)
    for handle in handles:
        await send.act(handle, SuccessCriteriaMet(evidence="live", by="csm-ana"))
    settled = select(func.count()).select_from(OutboxEmail).where(col(OutboxEmail.status).in_(["sent", "failed"]))
    total = select(func.count()).select_from(OutboxEmail)
    done = select(func.count()).select_from(Onboarding).where(Onboarding.status == "completed")
    # Emails go in a lane of their own, in order: every completion email settled means every email
    # before it did (a row exists only once its email's turn has come).
    last = settled.where(OutboxEmail.template == "onboarding_complete")
    await advance_until(
        "every email settled",
        lambda: count(done) == BATCH and count(last) == BATCH and count(settled) == count(total),
    )

    with Session(engine(settings.database_url)) as db:
        tasks = db.exec(select(HumanTask.account_id, HumanTask.rule, HumanTask.reason)).all()
        rows = db.exec(select(OutboxEmail.key, OutboxEmail.status)).all()
    email_failed = sorted((a, reason) for a, rule, reason in tasks if rule == "email_failed")
    assert email_failed == [
        (
            account,
            "Email 'reengagement' to the champion was refused: SendGrid refused it (HTTP 400): "
            "personalizations.0.to.0.email: Does not contain a valid address. "
            "Check the recipient's email address and the sender settings. "
            f"Correct the address with: python admin.py contact {account} champion --email ...",
        )
        for account in sorted(refused_accounts)
    ], "only the permanent refusals reach a person"
    sent_keys = {key for key, status in rows if status == "sent"}
    assert set(sendgrid.took) == sent_keys, "every email the engine counts as sent, the provider has, and no other"
    assert {status for _, status in rows} == {"sent", "failed"}
    assert {"500", "503", "429", "hang", "lose", "400"} <= set(sendgrid.faults)

    refused_emails = EMAILS_EACH - Counter({REFUSED_TEMPLATE: 1}) + Counter({"escalation": 1})
    refused_timeline = (
        TIMELINE_EACH
        - Counter({("email", REFUSED_TEMPLATE): 1})
        + Counter({("email", "escalation"): 1, ("escalation", "email_failed"): 1})
    )
    faults = ", ".join(f"{n} x {kind}" for kind, n in sorted(sendgrid.faults.items()))
    audit(
        "email provider failing intermittently",
        f"{sum(sendgrid.faults.values())} failed answers ({faults})",
        settings.database_url,
        accounts,
        emails_for=lambda a: refused_emails if a in refused_accounts else EMAILS_EACH,
        timeline_for=lambda a: refused_timeline if a in refused_accounts else TIMELINE_EACH,
        provider_took=sendgrid.took,
    )
