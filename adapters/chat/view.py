"""What a notice says, whatever the chat: the account, the reason, the owner, the due time, its state.

Notices name the staff member who owns the task and the company; never a customer contact's
name or address (channels are wider audiences than an email inbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

NoticeState = Literal["open", "claimed", "resolved", "escalated_up", "cancelled"]


class NoticeUpdate(BaseModel):
    """An escalation or staff task changed: the chat message shows it (engine-api.md's NoticeUpdate)."""

    key: str
    account_id: str
    state: Literal["claimed", "resolved", "escalated_up", "cancelled"]
    by: str
    at: datetime


class Owner(BaseModel):
    id: str
    name: str
    slack_id: str | None = None


class NoticeView(BaseModel):
    key: str
    account_id: str
    workflow_id: str
    company: str
    kind: Literal["escalation", "task"] = "escalation"
    title: str
    reason: str
    owner: Owner
    due_at: datetime | None = None
    state: NoticeState = "open"
    by: Owner | None = None
    at: datetime | None = None
    run_url: str | None = None

    @property
    def escalation_id(self) -> str:
        """The id the catalogue's claim and resolve messages name: the key after the onboarding's ref."""
        return self.key.rsplit("/", 1)[-1]

    def headline(self) -> str:
        noun = "Escalation" if self.kind == "escalation" else "Task"
        return f"{noun} for {self.company}: {self.title}"

    def status_line(self) -> str | None:
        who = self.by.name if self.by else "someone"
        when = f" at {self.at:%Y-%m-%d %H:%M} UTC" if self.at else ""
        return {
            "open": None,
            "claimed": f"Claimed by {who}{when}",
            "resolved": f"Resolved by {who}{when}",
            "escalated_up": f"Nobody claimed it in time: now with {self.owner.name}{when}",
            "cancelled": f"Closed: the onboarding was cancelled{when}",
        }[self.state]

    def due_text(self) -> str:
        return f"{self.due_at:%Y-%m-%d %H:%M} UTC" if self.due_at else "no due time"

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"key", "account_id", "workflow_id", "state"})
