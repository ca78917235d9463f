"""Microsoft Teams: the same notices as an Adaptive Card through a Workflows webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session
from temporalio.exceptions import ApplicationError

from activities.notices import Notices
from adapters.chat.view import NoticeUpdate
from adapters.config import Settings
from adapters.db import engine
from adapters.staff import seed_if_empty
from onboarding.effects import EscalationRequest
from tests.integration_fakes import FakeTeams
from tests.integration_stack import local_server

__all__ = ["local_server"]


@pytest.fixture
def teams(local_server: HTTPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FakeTeams:
    with Session(engine(settings.database_url)) as db:
        seed_if_empty(db, settings.staff_file)  # the roster (staff.yaml), as the engine loads it
    fake = FakeTeams(local_server)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", fake.url)
    return fake


def request(key: str = "onboarding-acme.1a2b3c4d/stalled.3") -> EscalationRequest:
    return EscalationRequest(
        key=key,
        workflow_id="onboarding-acme",
        account_id="acme",
        rule="stalled",
        reason="No login 7 days after the welcome email",
        to="csm",
        assignee="csm-leo",
        opened_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    )


def facts(card: dict[str, Any]) -> dict[str, str]:
    return {f["title"]: f["value"] for b in card["body"] if b["type"] == "FactSet" for f in b["facts"]}


def test_an_escalation_is_posted_once_as_an_adaptive_card_and_changes_follow(
    settings: Settings, teams: FakeTeams
) -> None:
    notices = Notices(settings)
    notices.announce(request())
    notices.announce(request())  # retried: posted once
    [card] = teams.cards
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"][1]["text"] == "No login 7 days after the welcome email"
    assert facts(card) == {"Account": "acme", "Owner": "Leo Martin", "Due": "2026-12-02 09:00 UTC"}
    assert card["actions"][0]["type"] == "Action.OpenUrl" and "onboarding-acme" in card["actions"][0]["url"]
    resolved = NoticeUpdate(key=request().key, account_id="acme", state="resolved", by="csm-leo", at=datetime.now(UTC))
    notices.update(resolved)
    notices.update(resolved)  # the same change again: no second card
    assert len(teams.cards) == 2
    assert teams.cards[1]["body"][-1]["text"].startswith("Resolved by Leo Martin")


def test_nothing_is_posted_when_no_chat_is_configured(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEAMS_WEBHOOK_URL", raising=False)
    Notices(settings).announce(request())  # a no-op, not an error


def test_a_removed_webhook_fails_without_retrying(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, local_server: HTTPServer
) -> None:
    local_server.expect_request("/gone", method="POST").respond_with_data("workflow deleted", status=404)
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", local_server.url_for("/gone") + "?sig=secret-signature")
    with pytest.raises(ApplicationError) as refused:
        Notices(settings).announce(request("onboarding-acme.1a2b3c4d/stalled.4"))
    assert refused.value.non_retryable and "HTTP 404" in str(refused.value)
    assert "secret-signature" not in str(refused.value)
