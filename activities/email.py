"""Send one email, effectively once: the outbox row with the touch's key is the proof of sending.

Each attempt: skip suppressed addresses, claim the row ('sending', committed; the first
attempt renders the email and stores its row claimed), hand the email to the backend,
record the outcome.
What a retry does depends on what the row says:
- 'sent' / 'suppressed': done, nothing is sent again.
- 'sending' with SendGrid: an earlier attempt may have handed the email over and lost the
  answer. Sending again could deliver it twice, so the attempt waits instead: the Event
  Webhook's first event carrying the key ('processed', 'delivered', ...) marks the row sent.
  If no event comes within EMAIL_CONFIRM_WINDOW, a person is asked to check (non-retryable),
  rather than risk a second copy in the customer's inbox.
- 'failed' / 'unconfirmed': the same non-retryable error again.
- 'cancelled': the onboarding was cancelled before the email was handed over: nothing is sent.
Refusals (400, 401, 403, 413) are non-retryable: the workflow escalates to the CSM. So are a
template that does not render and a backend that is misconfigured: retrying cannot fix them,
and their messages name the template, locale and setting, never a recipient. Rate limits wait
for X-RateLimit-Reset; outages, connection errors and timeouts retry with backoff.
"""

from __future__ import annotations

from datetime import timedelta

import jinja2
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.config import Settings
from adapters.db import OutboxEmail, Staff, engine
from adapters.email import compose, outbox, suppressions
from adapters.email.backends import Backend, backend_for
from adapters.email.errors import Misconfigured, Refused, TryLater, Unconfirmed
from adapters.email.render import Rendered, is_transactional, render
from onboarding.effects import EmailRequest

CONFIRMATION_POLL = timedelta(seconds=30)
BOOKING_TEMPLATES = frozenset({"kickoff_invitation"})


class Mailer:
    """Sends the onboarding's emails through the backend the settings choose, once per key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = engine(settings.database_url)
        self.backend: Backend | None = None
        self.misconfigured: str | None = None
        try:
            self.backend = backend_for(settings)
        except Misconfigured as e:  # every send fails with it, non-retryably, until ops fix it
            self.misconfigured = str(e)

    @activity.defn
    def send_email(self, request: EmailRequest) -> str:
        """Render, store, deliver; returns the provider's message id ('' when suppressed or cancelled)."""
        if self.backend is None:
            activity.logger.error("email backend misconfigured: %s", self.misconfigured)
            raise ApplicationError(
                f"email backend misconfigured: {self.misconfigured}", type="EmailMisconfigured", non_retryable=True
            )
        return _send(request, self.settings, self.engine, self.backend)


def _send(request: EmailRequest, settings: Settings, db_engine: Engine, backend: Backend) -> str:
    # Rows stay loaded across commits: the attempt changes its row only through outbox's own
    # statements and mark_sent, so reloading it after each commit would only cost round trips.
    with Session(db_engine, expire_on_commit=False) as db:
        started = activity.info().started_time
        row = outbox.find(db, request.key)
        if row is None:
            row = _new_row(request, settings, backend, _booking_url(db, request))
            if _suppressed(db, row):
                return ""
            # A first attempt stores its row already claimed: one commit instead of two.
            if not outbox.record_claimed(db, row, started):
                raise ApplicationError("another attempt stored this email first", type="EmailBusy")
        else:
            if row.status == "sent":
                return row.provider_message_id or ""
            if row.status in ("suppressed", "cancelled"):
                return ""
            if row.status in ("failed", "unconfirmed"):
                raise _refused(row.error or "the email was refused earlier")
            if row.status == "sending" and not backend.resend_is_safe:
                _await_confirmation(db, row, settings)
            if row.status == "pending" and _suppressed(db, row):
                return ""
            if not outbox.claim(db, row.key, started, resend=backend.resend_is_safe):
                raise ApplicationError("another attempt is sending this email", type="EmailBusy")
        email = compose.outgoing(request, settings, Rendered(row.subject, row.text, row.html))
        try:
            message_id = backend.deliver(email)
        except Refused as e:
            outbox.settle(db, row.key, "failed", str(e))
            raise _refused(str(e)) from None
        except TryLater as e:
            outbox.settle(db, row.key, "pending", str(e))
            raise ApplicationError(str(e), type="EmailDeferred", next_retry_delay=e.retry_after) from None
        except Unconfirmed as e:
            outbox.settle(db, row.key, "sending", str(e))
            raise ApplicationError(
                f"{e}; waiting for the provider's webhook before deciding, not sending again",
                type="EmailUnconfirmed",
                next_retry_delay=CONFIRMATION_POLL,
            ) from None
        outbox.mark_sent(db, row, message_id, started)
        db.commit()
        return message_id


def _booking_url(db: Session, request: EmailRequest) -> str | None:
    """The CSM's booking page from the roster, for a kickoff invitation whose time is not agreed yet
    (one lookup, no other email); once it carries the meeting, the time is set."""
    csm_email = request.context.get("csm_email")
    if request.template not in BOOKING_TEMPLATES or not csm_email or request.calendar is not None:
        return None
    return db.exec(select(Staff.booking_url).where(Staff.email == csm_email)).first()


def _new_row(request: EmailRequest, settings: Settings, backend: Backend, booking_url: str | None) -> OutboxEmail:
    try:
        context = compose.context(request, settings, _namespace(), booking_url)
        mail = render(request.template, request.locale, context)
    except Exception as e:  # any error while rendering is the template's (or its context's) fault
        message = f"cannot render template {request.template!r} (locale {request.locale}): {_what_failed(e)}"
        activity.logger.error("%s", message)
        raise ApplicationError(message, type="EmailTemplate", non_retryable=True) from None
    return OutboxEmail(
        key=request.key,
        account_id=request.account_id,
        workflow_id=request.workflow_id,
        template=request.template,
        to_role=request.to.role,
        to_email=request.to.email,
        subject=mail.subject,
        text=mail.text,
        html=mail.html,
        backend=backend.name,
        created_at=request.at,
        seq=request.seq,
    )


def _suppressed(db: Session, row: OutboxEmail) -> bool:
    """Mark the row suppressed (and commit) if its address must not get this email."""
    reason = suppressions.blocked(db, row.to_email, is_transactional(row.template))
    if reason:
        outbox.mark_suppressed(db, row, reason)
        db.commit()
        activity.logger.info("email %s suppressed: the address %s", row.key, reason)
    return reason is not None


def _what_failed(error: Exception) -> str:
    """What a person must fix, in jinja2's words, which name variables and files but never their values.

    Other errors (a filter given a value it cannot use) are named by type only: their text
    may quote the value, and values can be a contact's name or address.
    """
    if isinstance(error, jinja2.TemplateNotFound):
        return f"the template file {error.name} is missing"
    if isinstance(error, jinja2.TemplateSyntaxError):
        return f"{error.name or 'a template file'} line {error.lineno}: {error.message}"
    if isinstance(error, jinja2.UndefinedError):
        return f"the context lacks a value: {error.message}"
    if isinstance(error, jinja2.TemplateError):
        return str(error.message)
    return f"{type(error).__name__} in an expression or filter"


def _namespace() -> str:
    return activity.info().namespace


def _refused(message: str) -> ApplicationError:
    return ApplicationError(message, type="EmailRefused", non_retryable=True)


def _await_confirmation(db: Session, row: OutboxEmail, settings: Settings) -> None:
    """A hand-over may have happened: wait for the webhook to confirm it, never send again."""
    assert row.sent_at is not None
    waited = activity.info().started_time - row.sent_at
    if waited < settings.email_confirm_window:
        raise ApplicationError(
            f"waiting for SendGrid to confirm {row.template!r}: the answer to an earlier attempt was lost",
            type="EmailUnconfirmed",
            next_retry_delay=CONFIRMATION_POLL,
        )
    minutes = int(settings.email_confirm_window.total_seconds() // 60)
    message = (
        f"SendGrid never confirmed it (no answer, and no webhook event within {minutes} minutes), so it was "
        f"not sent again; look for message key {row.key} in SendGrid's activity feed and resend by hand if missing"
    )
    if not outbox.settle(db, row.key, "unconfirmed", message):
        raise ApplicationError("the provider confirmed it just now", type="EmailUnconfirmed")
    raise _refused(message)
