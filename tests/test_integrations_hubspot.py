"""HubSpot: a deal moved to closed-won starts one onboarding; its phase and status go back onto the deal.

The webhook requests are signed here from HubSpot's documented v3 algorithm (not with the
library the intake uses); the CRM API is a local fake answering the official client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import admin
from activities.crm import Crm
from adapters.config import Settings
from adapters.crm import inbox
from adapters.db import HumanTask, engine
from adapters.integration_tables import CrmLink
from adapters.integrations import Integrations
from intake import crm_processor
from intake.crm_processor import TASK_RULE
from intake.hubspot import closed_won_rows
from onboarding.effects import TimelineEntry
from tests.integration_fakes import FakeHubSpot
from tests.integration_stack import intake, local_server, settled_inbox

__all__ = ["local_server"]
SECRET = "hubspot-app-client-secret-1234"
TOKEN = "pat-na1-test-token"
TARGET = "https://onboarding.vendor.example/webhooks/hubspot"


def signed(body: bytes, uri: str = TARGET, secret: str = SECRET, age: float = 0.0) -> dict[str, str]:
    """HubSpot's v3 headers: base64(HMAC-SHA256(secret, method + uri + body + timestamp)), ms timestamp."""
    timestamp = str(int((time.time() - age) * 1000))
    source = b"POST" + uri.encode() + body + timestamp.encode()
    digest = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    return {
        "X-HubSpot-Signature-v3": digest,
        "X-HubSpot-Request-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def stage_change(event_id: int, deal_id: int, stage: str = "closedwon", at: datetime | None = None) -> dict[str, Any]:
    occurred = int(((at or datetime.now(UTC)) - timedelta(seconds=1)).timestamp() * 1000)
    return {
        "eventId": event_id,
        "subscriptionId": 2001,
        "portalId": 62515,
        "appId": 1160452,
        "occurredAt": occurred,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": deal_id,
        "changeSource": "CRM_UI",
        "propertyName": "dealstage",
        "propertyValue": stage,
    }


@pytest.fixture
def hubspot(local_server: HTTPServer, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> FakeHubSpot:
    fake = FakeHubSpot(local_server, TOKEN)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("HUBSPOT_WEBHOOK_URL", TARGET)
    monkeypatch.setenv("HUBSPOT_API_URL", fake.url)
    monkeypatch.setenv("HUBSPOT_CLOSED_WON_STAGES", "default:closedwon, 7749:1234")
    return fake


def won_deal(fake: FakeHubSpot, deal_id: int, champion: bool = True) -> None:
    fake.add_deal(
        str(deal_id),
        {
            "dealname": "BrightPath - booking",
            "dealstage": "closedwon",
            "pipeline": "default",
            "amount": "4800",
            "closedate": "2026-11-30T09:00:00.000Z",
            "success_criteria": "Online booking page live\nAt least 20 bookings made online",
        },
        company={"name": "BrightPath Dental", "numberofemployees": "35"},
        contacts=[
            (
                {
                    "firstname": "Priya",
                    "lastname": "Nair",
                    "email": "priya@brightpath.example",
                    "onboarding_role": "Champion" if champion else "End user",
                    "hs_language": "en",
                },
                None,
            ),
            (
                {
                    "firstname": "Tom",
                    "lastname": "Reyes",
                    "email": "tom@brightpath.example",
                    "onboarding_role": "Billing",
                },
                None,
            ),
        ],
        owner={"id": 501, "email": "jordan@vendor.example", "firstName": "Jordan", "lastName": "Blake"},
    )


async def test_a_won_deal_starts_exactly_one_onboarding_however_often_it_is_delivered(
    env: WorkflowEnvironment, task_queue: str, settings: Settings, hubspot: FakeHubSpot
) -> None:
    won_deal(hubspot, 101)
    event = stage_change(9001, 101)
    batch = json.dumps([event, event, stage_change(9002, 555, stage="appointmentscheduled")]).encode()
    async with intake(env.client, task_queue) as http:
        for _ in range(3):  # HubSpot retries; each delivery is answered at once
            answer = await http.post("/webhooks/hubspot", content=batch, headers=signed(batch))
            assert answer.status_code == 204, answer.text
        [row] = await settled_inbox(settings, 1)
        assert (row.status, row.account_id) == ("started", "hubspot-101"), row.outcome
        # The deal leaves the stage and comes back later: a new event, the onboarding is already open.
        again = json.dumps([stage_change(9003, 101, at=datetime.now(UTC) + timedelta(seconds=5))]).encode()
        assert (await http.post("/webhooks/hubspot", content=again, headers=signed(again))).status_code == 204
        rows = await settled_inbox(settings, 2)
    assert [r.status for r in rows] == ["started", "already"]
    handle = env.client.get_workflow_handle("onboarding-hubspot-101")
    status = await handle.query("get_status")
    assert (status["company"], status["segment"]) == ("BrightPath Dental", "smb")
    signed_at = datetime.fromisoformat(status["signed_at"].replace("Z", "+00:00"))
    assert signed_at == datetime.fromtimestamp(event["occurredAt"] / 1000, UTC)  # won then, not the close date
    calls = [c for c in hubspot.calls if c.startswith("GET /crm/v3/objects/deals/")]
    assert len(calls) == 2  # the deal was read once per distinct event, never for the redeliveries
    await handle.terminate("test over")


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="missing"),
        pytest.param(lambda body: signed(body, secret="another-apps-secret"), id="wrong-secret"),
        pytest.param(lambda body: signed(body, uri="https://elsewhere.example/webhooks/hubspot"), id="other-url"),
        pytest.param(lambda body: signed(body + b" "), id="tampered-body"),
        pytest.param(lambda body: signed(body, age=301), id="stale"),
    ],
)
async def test_a_bad_missing_or_stale_signature_is_refused_and_starts_nothing(
    env: WorkflowEnvironment, settings: Settings, hubspot: FakeHubSpot, headers: Any
) -> None:
    won_deal(hubspot, 102)
    body = json.dumps([stage_change(9101, 102)]).encode()
    async with intake(env.client) as http:
        answer = await http.post("/webhooks/hubspot", content=body, headers=headers(body))
    assert answer.status_code == 401
    assert SECRET not in answer.text
    assert hubspot.calls == []
    with Session(engine(settings.database_url)) as db:
        assert db.exec(select(CrmLink)).all() == []


async def test_a_deal_without_a_champion_starts_nothing_and_a_person_is_told_every_missing_field(
    env: WorkflowEnvironment, task_queue: str, settings: Settings, hubspot: FakeHubSpot
) -> None:
    won_deal(hubspot, 103, champion=False)
    hubspot.deals["103"].pop("success_criteria")
    body = json.dumps([stage_change(9201, 103)]).encode()
    async with intake(env.client, task_queue) as http:
        assert (await http.post("/webhooks/hubspot", content=body, headers=signed(body))).status_code == 204
        [row] = await settled_inbox(settings, 1)
    assert row.status == "refused"
    with pytest.raises(RPCError):
        await env.client.get_workflow_handle("onboarding-hubspot-103").describe()
    with Session(engine(settings.database_url)) as db:
        [task] = db.exec(select(HumanTask).where(HumanTask.rule == TASK_RULE)).all()
    assert (task.kind, task.status, task.assignee) == ("task", "open", "mgr-elena")  # the roster's CS manager
    assert "HubSpot deal 103 (deal owner: Jordan Blake)" in task.reason  # whom to chase
    assert "contact property 'onboarding_role': no contact is marked as the champion" in task.reason
    assert "deal property 'success_criteria': no success criteria" in task.reason
    assert "priya@" not in task.reason
    refused = CliRunner().invoke(admin.app, ["crm", "inbox", "--status", "refused"])
    assert "hubspot:9201" in refused.output and "cannot start an onboarding" in refused.output

    # Sales fixes the deal; ops process the same notification again.
    hubspot.deals["103"]["success_criteria"] = "Online booking page live"
    hubspot.contacts["10300"]["onboarding_role"] = "Champion"
    assert CliRunner().invoke(admin.app, ["crm", "retry", "hubspot:9201"]).exit_code == 0
    async with intake(env.client, task_queue) as http:
        crm_processor.wake(http.app)  # type: ignore[attr-defined]
        [row] = await settled_inbox(settings, 1)
    assert row.status == "started", row.outcome
    with Session(engine(settings.database_url)) as db:
        [task] = db.exec(select(HumanTask).where(HumanTask.rule == TASK_RULE)).all()
    assert (task.status, task.resolved_by) == ("resolved", "engine")
    await env.client.get_workflow_handle("onboarding-hubspot-103").terminate("test over")


async def test_a_deal_in_an_unmapped_pipeline_is_ignored(
    env: WorkflowEnvironment, settings: Settings, hubspot: FakeHubSpot
) -> None:
    won_deal(hubspot, 104)
    hubspot.deals["104"]["pipeline"] = "renewals"  # 'closedwon' of a pipeline not in HUBSPOT_CLOSED_WON_STAGES
    body = json.dumps([stage_change(9301, 104)]).encode()
    async with intake(env.client) as http:
        assert (await http.post("/webhooks/hubspot", content=body, headers=signed(body))).status_code == 204
        [row] = await settled_inbox(settings, 1)
    assert row.status == "ignored" and "renewals" in row.outcome


def test_phase_and_status_are_written_back_to_the_deal_in_order(settings: Settings, hubspot: FakeHubSpot) -> None:
    now = datetime.now(UTC)
    with Session(engine(settings.database_url)) as db:
        db.add(CrmLink(account_id="hubspot-105", crm="hubspot", record_id="105", last_change_at=now, created_at=now))
        db.commit()
    won_deal(hubspot, 105)
    crm = Crm(settings)

    def row(seq: int, kind: str, name: str) -> TimelineEntry:
        return TimelineEntry(
            key=f"k:{seq}", account_id="hubspot-105", at=now, kind=kind, name=name, actor="engine", seq=seq
        )  # type: ignore[arg-type]

    assert crm.sync_deal(row(3, "phase", "early_training"))
    assert not crm.sync_deal(row(4, "email", "welcome"))  # not a phase or status change
    assert crm.sync_deal(row(7, "paused", "paused"))
    assert not crm.sync_deal(row(3, "phase", "early_training"))  # a retry arriving late changes nothing
    assert not crm.sync_deal(
        TimelineEntry(key="x", account_id="acct-elsewhere", at=now, kind="phase", name="p", actor="engine")
    )
    assert hubspot.updates == [
        ("105", {"onboarding_status": "active", "onboarding_phase": "early_training"}),
        ("105", {"onboarding_status": "paused"}),
    ]


async def test_roles_from_association_labels_and_a_notification_stored_before_a_crash_is_processed_at_start(
    env: WorkflowEnvironment, task_queue: str, settings: Settings, hubspot: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ROLE_SOURCE", "label")
    won_deal(hubspot, 106)
    for contact in hubspot.contacts.values():
        contact.pop("onboarding_role")
    hubspot.links[("106", "contacts")] = [("10600", "Champion"), ("10601", "Billing contact")]
    now = datetime.now(UTC)
    # The intake stored the event and answered HubSpot, then stopped before processing it.
    with Session(engine(settings.database_url)) as db:
        event = stage_change(9401, 106)
        rows = closed_won_rows(Integrations.from_env().hubspot, [event], now)  # type: ignore[arg-type]
        assert inbox.store(db, rows) == 1
    async with intake(env.client, task_queue):
        [row] = await settled_inbox(settings, 1)
    assert row.status == "started", row.outcome
    handle = env.client.get_workflow_handle("onboarding-hubspot-106")
    status = await handle.query("get_status")
    assert status["company"] == "BrightPath Dental"
    await handle.terminate("test over")
