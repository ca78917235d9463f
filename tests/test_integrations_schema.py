"""Migration 0004 (integrations) and the integrations' settings: what ops see when they get them wrong."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session

from adapters.db import Staff, engine, upgrade
from adapters.integrations import IntegrationConfigError, Integrations
from tests.test_database import alembic, empty_url

__all__ = ["empty_url"]


def test_upgrading_a_0005_database_keeps_the_roster_and_downgrading_removes_the_tables(empty_url: str) -> None:
    command.upgrade(alembic(empty_url), "0005")
    with engine(empty_url).begin() as db:
        db.execute(
            text(
                "INSERT INTO staff (id, name, email, role, segments, capacity, active) "
                """VALUES ('csm-leo', 'Leo Martin', 'leo@vendor.example', 'csm', '["smb"]', 80, true)"""
            )
        )
    upgrade(empty_url)
    with Session(engine(empty_url)) as db:
        leo = db.get(Staff, "csm-leo")
    assert leo is not None and (leo.slack_id, leo.booking_url) == (None, None)
    assert {"crminbox", "crmlink", "chatnotice"} <= set(inspect(engine(empty_url)).get_table_names())
    command.downgrade(alembic(empty_url), "0005")
    assert not {"crminbox", "crmlink", "chatnotice"} & set(inspect(engine(empty_url)).get_table_names())
    assert "slack_id" not in {c["name"] for c in inspect(engine(empty_url)).get_columns("staff")}
    upgrade(empty_url)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUBSPOT_ACCESS_TOKEN": "pat-1"}, "HubSpot is half configured: set HUBSPOT_CLIENT_SECRET, HUBSPOT_WEB"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_CHANNEL": "C1"}, "Slack is half configured: set SLACK_SIGNING_SECRET"),
        ({"SALESFORCE_ORGANIZATION_ID": "12345"}, "SALESFORCE_ORGANIZATION_ID: expected the org's 15 or 18"),
        (
            {
                "HUBSPOT_ACCESS_TOKEN": "t",
                "HUBSPOT_CLIENT_SECRET": "s",
                "HUBSPOT_WEBHOOK_URL": "https://x/h",
                "HUBSPOT_CLOSED_WON_STAGES": "closedwon",
            },
            "HUBSPOT_CLOSED_WON_STAGES: expected PIPELINE:STAGE pairs",
        ),
    ],
)
def test_a_half_configured_integration_names_the_variable_to_fix(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(IntegrationConfigError, match=message) as error:
        Integrations.from_env()
    assert "pat-1" not in str(error.value) and "xoxb-1" not in str(error.value)


def test_nothing_is_on_until_configured_and_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    off = Integrations.from_env()
    assert (off.hubspot, off.salesforce, off.slack, off.teams) == (None, None, None, None)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-value")
    monkeypatch.setenv("SLACK_CHANNEL", "C0ALL")
    monkeypatch.setenv("SLACK_CHANNEL_ENTERPRISE", "C0ENT")
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", "https://prod.example/workflows/1?sig=teams-secret")
    on = Integrations.from_env()
    assert on.slack is not None
    assert (on.slack.channel_for("enterprise"), on.slack.channel_for("smb")) == ("C0ENT", "C0ALL")
    shown = repr(on)
    assert not any(s in shown for s in ("xoxb-secret-token", "signing-secret-value", "teams-secret"))
