"""Salesforce outbound messages: Ack only once stored; wrong org refused; duplicates and stale ones change nothing.

The envelopes below are what a record-triggered Flow's outbound message on Opportunity sends
(SOAP 1.1, namespace http://soap.sforce.com/2005/09/outbound, enterprise sObject fields).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlmodel import Session, select
from temporalio.testing import WorkflowEnvironment

from adapters.config import Settings
from adapters.db import HumanTask, engine
from adapters.integration_tables import CrmInbox
from tests.integration_stack import intake, settled_inbox

ORG = "00D5g000004ABCDEAZ"
OPPORTUNITY = "0065g00000XyZabAAB"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("SALESFORCE_ORGANIZATION_ID", ORG[:15])  # Setup shows the 15-character id


def notification(note_id: str, modified: datetime, opportunity: str = OPPORTUNITY, **fields: str | None) -> str:
    values: dict[str, str | None] = {
        "Id": opportunity,
        "Amount": "24000.00",
        "CloseDate": "2026-11-30",
        "LastModifiedDate": modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "StageName": "Closed Won",
        "Onboarding_Company__c": "Northwind Logistics",
        "Onboarding_Employees__c": "240",
        "Onboarding_Locale__c": "en_US",
        "Champion_Name__c": "Dana Whit",
        "Champion_Email__c": "dana@northwind.example",
        "Sales_Rep_Name__c": "Jordan Blake",
        "Sales_Rep_Email__c": "jordan@vendor.example",
        "Success_Criteria__c": "Fleet tracking live\n80% of dispatchers active",
    }
    values.update(fields)
    body = "".join(f'<sf:{k} xsi:nil="true"/>' if v is None else f"<sf:{k}>{v}</sf:{k}>" for k, v in values.items())
    return (
        f"<Notification><Id>{note_id}</Id>"
        f'<sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{body}</sObject>'
        "</Notification>"
    )


def envelope(*notifications: str, org: str = ORG) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId><ActionId>04k5g000000ABCDAA0</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://northwind.my.salesforce.com/services/Soap/c/62.0/00D5g000004ABCD</EnterpriseUrl>"
        "<PartnerUrl>https://northwind.my.salesforce.com/services/Soap/u/62.0/00D5g000004ABCD</PartnerUrl>"
        + "".join(notifications)
        + "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


def acked(text: str) -> bool:
    root = ElementTree.fromstring(text)
    ack = root.find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
    return ack is not None and ack.text == "true"


async def test_a_won_opportunity_starts_one_onboarding_and_redeliveries_and_stale_ones_change_nothing(
    env: WorkflowEnvironment, task_queue: str, settings: Settings
) -> None:
    now = datetime.now(UTC)
    won = notification("04l5g00000AAAAAAA1", now)
    older = notification("04l5g00000AAAAAAA0", now - timedelta(minutes=10))  # delivered late, out of order
    async with intake(env.client, task_queue) as http:
        answer = await http.post("/webhooks/salesforce", content=envelope(won), headers=HEADERS)
        assert answer.status_code == 200 and acked(answer.text), answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        await settled_inbox(settings, 1)
        for body in (envelope(won, won), envelope(older)):  # a retry, then a stale one
            answer = await http.post("/webhooks/salesforce", content=body, headers=HEADERS)
            assert answer.status_code == 200 and acked(answer.text)
        rows = await settled_inbox(settings, 2)
    assert [(r.event_id, r.status) for r in rows] == [
        ("salesforce:04l5g00000AAAAAAA1", "started"),
        ("salesforce:04l5g00000AAAAAAA0", "stale"),
    ]
    account = f"sf-{OPPORTUNITY.lower()}"
    handle = env.client.get_workflow_handle(f"onboarding-{account}")
    status = await handle.query("get_status")
    assert (status["company"], status["segment"]) == ("Northwind Logistics", "mid_market")
    await handle.terminate("test over")


async def test_another_org_or_a_non_outbound_message_is_refused_and_nothing_is_stored(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    won = notification("04l5g00000BBBBBBB1", datetime.now(UTC))
    async with intake(env.client) as http:
        other = await http.post(
            "/webhooks/salesforce", content=envelope(won, org="00D5g000009ZZZZEAZ"), headers=HEADERS
        )
        bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
        junk = await http.post("/webhooks/salesforce", content=bomb, headers=HEADERS)
        empty = await http.post("/webhooks/salesforce", content=envelope(), headers=HEADERS)
    assert other.status_code == 403 and "OrganizationId" in other.text and not acked(other.text)
    assert junk.status_code == 400 and empty.status_code == 400
    assert "Fault" in junk.text
    with Session(engine(settings.database_url)) as db:
        assert db.exec(select(CrmInbox)).all() == []


async def test_an_opportunity_without_a_champion_starts_nothing_and_a_task_names_the_fields(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    won = notification("04l5g00000CCCCCCC1", datetime.now(UTC), Champion_Email__c=None, Amount=None)
    async with intake(env.client) as http:
        answer = await http.post("/webhooks/salesforce", content=envelope(won), headers=HEADERS)
        assert acked(answer.text)
        [row] = await settled_inbox(settings, 1)
    assert row.status == "refused"
    with Session(engine(settings.database_url)) as db:
        [task] = db.exec(select(HumanTask)).all()
    assert "Champion_Email__c" in task.reason and "Opportunity Amount" in task.reason
