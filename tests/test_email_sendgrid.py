"""The send_email activity with EMAIL_BACKEND=sendgrid: the real `sendgrid` client talks to a
stand-in SendGrid on 127.0.0.1, and we check what it received and how each answer is classified."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment
from werkzeug import Request, Response

from activities.email import Mailer
from adapters.config import Settings
from adapters.db import OutboxEmail, engine
from adapters.email import samples

API_KEY = "SG.test-key-that-must-never-be-logged"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sendgrid(stand_in: HTTPServer, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[HTTPServer]:
    server = stand_in
    monkeypatch.setenv("EMAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
    monkeypatch.setenv("SENDGRID_HOST", server.url_for("").rstrip("/"))
    monkeypatch.setenv("SENDGRID_TIMEOUT", "0.5")
    monkeypatch.setenv("EMAIL_LINK_SECRET", "test-secret-for-unsubscribe-links")
    yield server
    server.clear()


def run(template: str = "welcome") -> str:
    """One send_email attempt, by a Mailer built from the settings the test's environment says now."""
    activity_env = ActivityEnvironment()
    activity_env.info = dataclasses.replace(activity_env.info, started_time=datetime.now(UTC))
    return activity_env.run(Mailer(Settings.from_env()).send_email, samples.request(template))


def outbox_row(settings: Settings, template: str = "welcome") -> OutboxEmail:
    with Session(engine(settings.database_url)) as db:
        row = db.exec(select(OutboxEmail).where(OutboxEmail.template == template)).one()
    return row


def test_the_request_sendgrid_receives(
    sendgrid: HTTPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDGRID_UNSUBSCRIBE_GROUP", "4242")
    monkeypatch.setenv("SENDGRID_SANDBOX", "true")
    sendgrid.expect_oneshot_request("/v3/mail/send", method="POST").respond_with_data(
        "", status=202, headers={"X-Message-Id": "14c5d75ce93.dfd.64b469"}
    )

    assert run("welcome") == "14c5d75ce93.dfd.64b469"

    [(request, _)] = sendgrid.log
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    sent = request.get_json()
    row = outbox_row(settings)
    unsubscribe = sent["headers"]["List-Unsubscribe"]
    assert sent["personalizations"] == [{"to": [{"email": "priya@brightpath.example", "name": "Priya Nair"}]}]
    assert sent["from"] == {"email": "onboarding@vendor.example", "name": "Onboarding Team"}
    assert sent["reply_to"] == {"email": "leo@vendor.example", "name": "Leo Martin"}
    assert sent["subject"] == "Welcome aboard, BrightPath Dental: your getting-started checklist"
    assert sent["content"] == [
        {"type": "text/plain", "value": row.text},
        {"type": "text/html", "value": row.html},
    ]
    assert "Your onboarding plan has 4 phases" in row.text and "<strong>April 1, 2026</strong>" in row.html
    assert sent["categories"] == ["onboarding", "welcome"]
    assert sent["custom_args"] == {"message_key": row.key, "workflow_id": "onboarding-brightpath-dental"}
    assert unsubscribe.startswith("<http://localhost:8000/email/unsubscribe?m=onboarding-brightpath-dental")
    assert sent["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>").replace("&", "&amp;") in row.html
    assert sent["asm"] == {"group_id": 4242}
    assert sent["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert (row.status, row.provider_message_id, row.backend) == ("sent", "14c5d75ce93.dfd.64b469", "sendgrid")


def test_transactional_mail_has_no_unsubscribe(sendgrid: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_UNSUBSCRIBE_GROUP", "4242")
    sendgrid.expect_oneshot_request("/v3/mail/send").respond_with_data("", status=202)

    run("escalation")

    sent = sendgrid.log[0][0].get_json()
    assert "headers" not in sent and "asm" not in sent and "reply_to" not in sent
    assert "mail_settings" not in sent
    assert sent["personalizations"][0]["to"][0]["name"] == "Elena Petrova"
    assert sent["categories"] == ["onboarding", "escalation"]


REFUSALS = [
    (400, "personalizations.0.to.0.email", "Does not contain a valid address.", "Check the recipient's email"),
    (401, None, "The provided authorization grant is invalid, expired, or revoked", "SENDGRID_API_KEY"),
    (403, "from", "The from address does not match a verified Sender Identity.", "sender is not verified"),
    (413, None, "Payload Too Large", "larger than SendGrid accepts"),
]


@pytest.mark.parametrize(("status", "field", "message", "advice"), REFUSALS)
def test_refusals_are_not_retried_and_say_why(
    sendgrid: HTTPServer, settings: Settings, status: int, field: str | None, message: str, advice: str
) -> None:
    sendgrid.expect_request("/v3/mail/send").respond_with_json(
        {"errors": [{"field": field, "message": message, "help": None}]}, status=status
    )

    with pytest.raises(ApplicationError) as refused:
        run()
    with pytest.raises(ApplicationError) as again:  # a retry never calls SendGrid again
        run()

    error = refused.value
    assert (error.type, error.non_retryable) == ("EmailRefused", True)
    assert f"HTTP {status}" in error.message and message in error.message and advice in error.message
    assert again.value.message == error.message and again.value.non_retryable
    assert len(sendgrid.log) == 1
    row = outbox_row(settings)
    assert (row.status, row.error) == ("failed", error.message)


def test_addresses_in_sendgrid_errors_are_masked(sendgrid: HTTPServer) -> None:
    sendgrid.expect_request("/v3/mail/send").respond_with_json(
        {"errors": [{"field": "reply_to", "message": "leo@vendor.example is not allowed"}]}, status=400
    )
    with pytest.raises(ApplicationError) as refused:
        run()
    assert "reply_to: <address> is not allowed" in refused.value.message
    assert "leo@vendor" not in refused.value.message


def test_rate_limit_waits_until_the_reset_then_sends(sendgrid: HTTPServer, settings: Settings) -> None:
    reset = int(time.time()) + 90
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_json(
        {"errors": [{"message": "too many requests"}]}, status=429, headers={"X-RateLimit-Reset": str(reset)}
    )
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_data("", status=202, headers={"X-Message-Id": "m2"})

    with pytest.raises(ApplicationError) as limited:
        run()
    assert (limited.value.type, limited.value.non_retryable) == ("EmailDeferred", False)
    delay = limited.value.next_retry_delay
    assert delay is not None and timedelta(seconds=85) <= delay <= timedelta(seconds=90)
    assert outbox_row(settings).status == "pending"

    assert run() == "m2"
    assert len(sendgrid.log) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_outages_retry_with_backoff(sendgrid: HTTPServer, settings: Settings, status: int) -> None:
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_data("upstream trouble", status=status)
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_data("", status=202, headers={"X-Message-Id": "m3"})

    with pytest.raises(ApplicationError) as outage:
        run()
    assert (outage.value.type, outage.value.non_retryable, outage.value.next_retry_delay) == (
        "EmailDeferred",
        False,
        None,
    )
    assert f"HTTP {status}" in outage.value.message and "upstream trouble" in outage.value.message
    assert run() == "m3"
    assert outbox_row(settings).status == "sent"


def test_connection_refused_retries(sendgrid: HTTPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SENDGRID_HOST", f"http://127.0.0.1:{port}")

    with pytest.raises(ApplicationError) as unreachable:
        run()
    assert (unreachable.value.type, unreachable.value.non_retryable) == ("EmailDeferred", False)
    assert "could not reach SendGrid" in unreachable.value.message
    assert outbox_row(settings).status == "pending"


def test_a_timeout_after_sending_is_not_sent_again(sendgrid: HTTPServer, settings: Settings) -> None:
    received = []

    def slow(request: Request) -> Response:
        received.append(request.get_json())
        time.sleep(1.0)  # longer than SENDGRID_TIMEOUT: SendGrid took the mail, the answer is lost
        return Response("", status=202)

    sendgrid.expect_request("/v3/mail/send").respond_with_handler(slow)

    for _ in range(3):
        with pytest.raises(ApplicationError) as unconfirmed:
            run()
        assert (unconfirmed.value.type, unconfirmed.value.non_retryable) == ("EmailUnconfirmed", False)
    assert len(received) == 1
    assert outbox_row(settings).status == "sending"


def test_the_api_key_never_reaches_logs_or_errors(sendgrid: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_data("", status=202)
    sendgrid.expect_ordered_request("/v3/mail/send").respond_with_json({"errors": [{"message": "bad"}]}, status=401)

    run("welcome")
    with pytest.raises(ApplicationError) as refused:
        run("setup_day1")

    assert API_KEY not in caplog.text and API_KEY not in refused.value.message
    assert "SendGrid did not take email" in caplog.text  # the failure itself is logged
    assert "priya.nair@" not in caplog.text


def test_missing_api_key_is_named_and_not_retried(sendgrid: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDGRID_API_KEY")
    with pytest.raises(ApplicationError) as misconfigured:
        run()
    assert misconfigured.value.type == "EmailMisconfigured" and misconfigured.value.non_retryable
    assert "SENDGRID_API_KEY is not set" in misconfigured.value.message
    assert sendgrid.log == []
