"""Escalations in Slack: one message per task, with Claim and Resolve buttons, updated in place.

Posted with `slack_sdk`'s WebClient (SLACK_API_URL points it elsewhere, e.g. a test's fake).
Slack allows about one message a second per channel: posts to a channel are spaced a second
apart in this process, and a 429 is retried after its Retry-After (the SDK's
RateLimitErrorRetryHandler; past that, `RateLimited` tells the caller how long to wait).
Each message carries its task key as message metadata, so a post whose answer was lost is
found in the channel's history instead of being posted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from adapters.chat.view import NoticeView
from adapters.integrations import SlackSettings

# The SDK logs every response body (users.info: a person's email) at DEBUG.
logging.getLogger("slack_sdk").setLevel(logging.WARNING)
CLAIM, RESOLVE = "claim_escalation", "resolve_escalation"
METADATA_TYPE = "onboarding_notice"
PER_CHANNEL_GAP = 1.0
_last_post: dict[str, float] = {}
_pace = threading.Lock()


class SlackError(Exception):
    """Slack refused (bad token, unknown channel): retrying will not help; the message names the error code."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"Slack rate limit: retry after {retry_after:.0f} s")
        self.retry_after = retry_after


def client(settings: SlackSettings) -> WebClient:
    web = WebClient(token=settings.bot_token, base_url=settings.api_url, timeout=10)
    web.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return web


def blocks(view: NoticeView) -> list[dict[str, Any]]:
    """The message: headline, reason, owner and due time; the buttons that still make sense."""
    owner = f"<@{view.owner.slack_id}>" if view.owner.slack_id else view.owner.name
    account = f"<{view.run_url}|{view.account_id}>" if view.run_url else view.account_id
    headline = f"*{_escape(view.headline())}*\n{_escape(view.reason)}"
    out: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Account*\n{account}"},
                {"type": "mrkdwn", "text": f"*Owner*\n{owner}"},
                {"type": "mrkdwn", "text": f"*Due*\n{view.due_text()}"},
            ],
        },
    ]
    status = view.status_line()
    if status:
        out.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(status)}]})
    buttons = []
    if view.state in ("open", "escalated_up"):
        buttons.append(_button("Claim", CLAIM, view.key))
    if view.state not in ("resolved", "cancelled"):
        buttons.append(_button("Resolve", RESOLVE, view.key, style="primary"))
    if buttons:
        out.append({"type": "actions", "block_id": "notice", "elements": buttons})
    return out


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paced(channel: str) -> None:
    with _pace:
        wait = _last_post.get(channel, 0.0) + PER_CHANNEL_GAP - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        _last_post[channel] = time.monotonic()


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except SlackApiError as e:
        if e.response.status_code == 429:
            raise RateLimited(float(e.response.headers.get("Retry-After", "30"))) from None
        raise SlackError(f"Slack refused {fn.__name__}: {e.response.get('error', e.response.status_code)}") from None


def find(settings: SlackSettings, channel: str, key: str) -> str | None:
    """The ts of a message already posted for this key (an earlier attempt whose answer was lost)."""
    history = _call(client(settings).conversations_history, channel=channel, limit=100, include_all_metadata=True)
    for message in history.get("messages", []):
        meta = message.get("metadata") or {}
        if meta.get("event_type") == METADATA_TYPE and (meta.get("event_payload") or {}).get("key") == key:
            return str(message["ts"])
    return None


def post(settings: SlackSettings, channel: str, view: NoticeView) -> str:
    """Post the notice; returns the message's ts."""
    _paced(channel)
    answer = _call(
        client(settings).chat_postMessage,
        channel=channel,
        text=view.headline(),
        blocks=blocks(view),
        metadata={"event_type": METADATA_TYPE, "event_payload": {"key": view.key}},
        unfurl_links=False,
    )
    return str(answer["ts"])


def update(settings: SlackSettings, channel: str, ts: str, view: NoticeView) -> None:
    _call(client(settings).chat_update, channel=channel, ts=ts, text=view.headline(), blocks=blocks(view))


def email_of(settings: SlackSettings, user_id: str) -> str | None:
    """A Slack user's email (users:read.email scope), to find them on the roster without a slack_id."""
    answer = _call(client(settings).users_info, user=user_id)
    profile = (answer.get("user") or {}).get("profile") or {}
    email = profile.get("email")
    return str(email).lower() if email else None
