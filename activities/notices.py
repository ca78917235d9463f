"""Escalations and staff tasks in the team's chat (Slack, Teams): posted once, updated as they move.

Both methods do nothing when neither chat is configured. A chat that refuses (bad token,
unknown channel, a removed webhook) fails the activity without retrying: the task itself
is in the database and the admin script either way, and the workflow goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.records import RESPONSE_DUE
from adapters.chat import notices
from adapters.chat.slack import RateLimited, SlackError
from adapters.chat.teams import TeamsError
from adapters.chat.view import NoticeUpdate, NoticeView
from adapters.config import Settings
from adapters.db import engine
from adapters.integration_tables import ChatNotice
from adapters.integrations import Integrations
from onboarding.effects import CancelRequest, ClaimRequest, EscalationRequest, ResolveRequest

T = TypeVar("T")


class Notices:
    """Chat notices of human tasks; the settings say which chats (none: every call is a no-op)."""

    def __init__(self, settings: Settings, integrations: Integrations | None = None) -> None:
        self.settings = settings
        self.integrations = integrations or Integrations.from_env()
        self.engine: Engine = engine(settings.database_url)

    @property
    def configured(self) -> bool:
        return self.integrations.slack is not None or self.integrations.teams is not None

    @activity.defn(name="announce_notice")
    def announce(self, request: EscalationRequest) -> None:
        """Post a new escalation or task (once per request.key)."""
        if not self.configured:
            return
        with Session(self.engine) as db:
            company, segment = notices.company(db, request.account_id)
            view = notices.rendered(self.settings, view_of(request, company, notices.owner(db, request.assignee)))
            _chat_errors(lambda: notices.announce(db, self.integrations, view, segment))

    @activity.defn(name="update_notice")
    def update(self, change: NoticeUpdate) -> None:
        """Show a claim, resolution or escalation to the manager on the posted notice."""
        if not self.configured:
            return
        with Session(self.engine) as db:
            _chat_errors(lambda: notices.change(db, self.integrations, change.key, change.state, change.by, change.at))

    @activity.defn(name="notice_claimed")
    def claimed(self, request: ClaimRequest) -> None:
        """A task claimed by someone (or handed on): they own it now; by the engine: gone up to the CS manager."""
        state = "escalated_up" if request.by == "engine" else "claimed"
        self.update(
            NoticeUpdate(
                key=request.key, account_id=request.account_id, state=state, by=request.assignee, at=request.at
            )
        )

    @activity.defn(name="notice_resolved")
    def resolved(self, request: ResolveRequest) -> None:
        self.update(
            NoticeUpdate(key=request.key, account_id=request.account_id, state="resolved", by=request.by, at=request.at)
        )

    @activity.defn(name="notice_cancelled")
    def cancelled(self, request: CancelRequest) -> None:
        """The onboarding was cancelled: its open notices lose their buttons."""
        if not self.configured:
            return
        with Session(self.engine) as db:

            def close(key: str) -> Callable[[], object]:
                return lambda: notices.change(db, self.integrations, key, "cancelled", request.by, request.at)

            for key in notices.keys_of(db, request.workflow_id, request.key_prefix):
                row = db.get(ChatNotice, key)
                if row is not None and row.state not in ("resolved", "cancelled"):
                    _chat_errors(close(key))


NOTICES: dict[type, tuple[Callable[[Notices, Any], None], str]] = {
    EscalationRequest: (Notices.announce, "Post the task to the team's chat"),
    ClaimRequest: (Notices.claimed, "Show the task's new owner in chat"),
    ResolveRequest: (Notices.resolved, "Show the task resolved in chat"),
    CancelRequest: (Notices.cancelled, "Close the onboarding's tasks in chat"),
}
"""What the workflow performs for each effect, besides its records (workflows/onboarding.py RECORDS)."""


def view_of(request: EscalationRequest, company: str, owner: notices.Owner) -> NoticeView:
    """The notice of a new task; `kind`, `title` and `due_at` when the request carries them."""
    due = getattr(request, "due_at", None) or request.opened_at + RESPONSE_DUE
    return NoticeView(
        key=request.key,
        account_id=request.account_id,
        workflow_id=request.workflow_id,
        company=company,
        kind=getattr(request, "kind", "escalation"),
        title=getattr(request, "title", None) or request.rule.replace("_", " "),
        reason=request.reason,
        owner=owner,
        due_at=due,
    )


def _chat_errors(call: Callable[[], T]) -> T:
    try:
        return call()
    except RateLimited as e:
        raise ApplicationError(
            str(e), type="ChatRateLimited", next_retry_delay=timedelta(seconds=e.retry_after)
        ) from None
    except SlackError as e:
        raise ApplicationError(str(e), type="ChatRefused", non_retryable=True) from None
    except TeamsError as e:
        delay = timedelta(seconds=e.retry_after) if e.retry_after else None
        raise ApplicationError(
            str(e),
            type="ChatUnavailable" if e.retryable else "ChatRefused",
            non_retryable=not e.retryable,
            next_retry_delay=delay,
        ) from None
