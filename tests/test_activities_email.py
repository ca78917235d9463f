"""send_email's answers a person acts on: a broken template or backend is said once (not retried), a
cancelled email is never sent, and no error or log line carries a recipient's name or address,
whatever fails: SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import Mailer
from activities.records import Records
from adapters.config import Settings
from adapters.db import OutboxEmail, engine
from adapters.email import samples
from onboarding.effects import CancelRequest, EmailRequest

PERSONAL = ("Priya", "priya.nair@", "Nair")  # the sample champion's name and address


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return dataclasses.replace(Settings.from_env(), database_url=db_url, outbox_dir=tmp_path / "outbox")


def send(settings: Settings, request: EmailRequest) -> str:
    activity_env = ActivityEnvironment()
    activity_env.info = dataclasses.replace(activity_env.info, started_time=datetime.now(UTC))
    return activity_env.run(Mailer(settings).send_email, request)


def outbox(settings: Settings) -> list[OutboxEmail]:
    with Session(engine(settings.database_url)) as db:
        return list(db.exec(select(OutboxEmail)).all())


def assert_no_personal_data(*texts: str) -> None:
    for text in texts:
        assert not [p for p in PERSONAL if p in text], text


@pytest.mark.parametrize(
    ("template", "missing", "what_failed"),
    [
        ("welcome", "company", "the context lacks a value: 'company' is undefined"),
        ("no_such_touch", None, "the template file en/no_such_touch.subject.jinja is missing"),
    ],
)
def test_a_template_that_cannot_render_is_not_retried_and_names_template_and_locale(
    settings: Settings, caplog: pytest.LogCaptureFixture, template: str, missing: str | None, what_failed: str
) -> None:
    request = samples.request(template, locale="ru")
    if missing:
        del request.context[missing]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ApplicationError) as failed:
        send(settings, request)
    error = failed.value
    assert (error.type, error.non_retryable) == ("EmailTemplate", True)
    assert error.message == f"cannot render template {template!r} (locale ru): {what_failed}"
    assert_no_personal_data(error.message, caplog.text)
    assert outbox(settings) == [] and not settings.outbox_dir.exists()


def test_a_misconfigured_backend_is_not_retried(settings: Settings) -> None:
    sendgrid = dataclasses.replace(settings, email_backend="sendgrid", sendgrid_api_key="")
    with pytest.raises(ApplicationError) as failed:
        send(sendgrid, samples.request("welcome"))
    assert (failed.value.type, failed.value.non_retryable) == ("EmailMisconfigured", True)
    assert "SENDGRID_API_KEY is not set" in failed.value.message
    assert outbox(settings) == []


def test_an_email_cancelled_before_it_was_handed_over_is_never_sent(settings: Settings) -> None:
    request = samples.request("setup_day3")
    row = OutboxEmail(
        key=request.key,
        account_id=request.account_id,
        workflow_id=request.workflow_id,
        template=request.template,
        to_role="champion",
        to_email=request.to.email,
        subject="s",
        text="t",
        html="h",
        status="pending",  # as a provider outage leaves it, between retries
        backend="outbox",
        created_at=request.at,
    )
    with Session(engine(settings.database_url)) as db:
        db.add(row)
        db.commit()
    Records(settings).cancel_onboarding(
        CancelRequest(
            workflow_id=request.workflow_id,
            key_prefix=request.workflow_id,
            account_id=request.account_id,
            by="csm-leo",
            reason="duplicate",
            at=request.at,
        )
    )
    assert send(settings, request) == ""
    assert send(settings, request) == ""  # and so does every later retry
    [cancelled] = outbox(settings)
    assert cancelled.status == "cancelled" and cancelled.sent_at is None
    assert not settings.outbox_dir.exists()


@contextmanager
def database_locked(url: str) -> Iterator[None]:
    """Another process holds the write lock, and the engine gives up waiting for it after 0.2 s."""
    eng = engine(url)
    if url.startswith("sqlite"):
        setting = "PRAGMA busy_timeout=200"
        holder: Any = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        setting = "SET lock_timeout = '200ms'"
        holder = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        holder.execute("LOCK TABLE outboxemail IN EXCLUSIVE MODE")

    def impatient(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(setting)
        cursor.close()

    event.listen(eng, "connect", impatient)
    eng.dispose()  # pooled connections were made without the short wait
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        event.remove(eng, "connect", impatient)
        eng.dispose()


def test_a_database_error_on_the_outbox_insert_carries_no_personal_data(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with database_locked(settings.database_url), pytest.raises(DBAPIError) as failed:
        send(settings, samples.request("welcome"))
    text = str(failed.value)
    assert "database is locked" in text or "lock timeout" in text
    assert "INSERT INTO outboxemail" in text and "[SQL parameters hidden due to hide_parameters=True]" in text
    # What the worker logs for a failed attempt: the exception with its traceback and causes.
    assert_no_personal_data(text, "".join(traceback.format_exception(failed.value)), caplog.text)
    assert outbox(settings) == []
