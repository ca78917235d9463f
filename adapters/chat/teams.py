"""Escalations in Microsoft Teams: an Adaptive Card posted to a Teams Workflows webhook.

A Workflows webhook ("Post to a channel when a webhook request is received") takes a JSON
message with an Adaptive Card attachment; plain HTTP, no SDK. It cannot edit a card it
posted, so a claim, a resolution or an escalation to the manager posts a short follow-up card.
Buttons open the run in the Temporal UI; claiming and resolving happen in Slack or the admin
script (Workflows webhooks do not send button clicks back).
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.chat.view import NoticeView
from adapters.integrations import TeamsSettings

CARD_VERSION = "1.4"


class TeamsError(Exception):
    def __init__(self, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def card(view: NoticeView) -> dict[str, Any]:
    """The Adaptive Card for the notice in its current state."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": view.headline(), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": view.reason, "wrap": True},
        {
            "type": "FactSet",
            "facts": [
                {"title": "Account", "value": view.account_id},
                {"title": "Owner", "value": view.owner.name},
                {"title": "Due", "value": view.due_text()},
            ],
        },
    ]
    status = view.status_line()
    if status:
        body.append({"type": "TextBlock", "text": status, "isSubtle": True, "wrap": True})
    content: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if view.run_url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open the onboarding", "url": view.run_url}]
    return content


def message(view: NoticeView) -> dict[str, Any]:
    """The webhook's request body: a message with the card as its one attachment."""
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card(view)}
        ],
    }


def post(settings: TeamsSettings, view: NoticeView) -> None:
    try:
        answer = httpx.post(settings.webhook_url, json=message(view), timeout=10)
    except httpx.HTTPError as e:
        raise TeamsError(f"Teams webhook: {type(e).__name__}", retryable=True) from None
    if answer.status_code == 429:
        retry_after = float(answer.headers.get("Retry-After", "30"))
        raise TeamsError("Teams webhook: rate limited", retryable=True, retry_after=retry_after)
    if answer.status_code >= 500:
        raise TeamsError(f"Teams webhook: HTTP {answer.status_code}", retryable=True)
    if answer.status_code >= 400:
        raise TeamsError(f"Teams webhook refused the card: HTTP {answer.status_code}", retryable=False)
