"""Salesforce outbound messages: the SOAP 1.1 envelope a record-triggered Flow sends on a won Opportunity.

An outbound message has no signature: it is accepted only from the configured org
(`OrganizationId`). It carries up to 100 notifications, each with the Opportunity's fields
the outbound message was set up to send; docs/integrations.md lists them (cross-object
values such as the account's name or the champion's email are formula fields on the
Opportunity). The answer `<Ack>true</Ack>` tells Salesforce to stop retrying: it is sent
only once every notification is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from dateutil.parser import isoparse
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from adapters.crm.mapping import CrmContact, DealFacts, lines

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
SOBJECT = "urn:sobject.enterprise.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100
FIELDS = {
    "company": "Onboarding_Company__c",
    "acv": "Amount",
    "employees": "Onboarding_Employees__c",
    "locale": "Onboarding_Locale__c",
    "role": "Champion_Email__c",
    "champion_name": "Champion_Name__c",
    "sales_rep": "Sales_Rep_Email__c",
    "sales_rep_name": "Sales_Rep_Name__c",
    "success_criteria": "Success_Criteria__c",
}
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)


class BadMessage(ValueError):
    """Not an outbound message we can take; the text says what is wrong, never a field's value."""


@dataclass(frozen=True)
class Notification:
    id: str
    object_type: str
    record_id: str
    fields: dict[str, str | None]

    @property
    def modified_at(self) -> datetime:
        raw = self.fields.get("LastModifiedDate") or self.fields.get("SystemModstamp")
        if not raw:
            raise BadMessage(f"notification {self.id}: LastModifiedDate is not among the sent fields")
        return isoparse(raw)


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    action_id: str
    notifications: list[Notification]


def _text(element: Element | None) -> str | None:
    if element is None or element.get(f"{{{XSI}}}nil") == "true":
        return None
    return (element.text or "").strip() or None


def parse(body: bytes) -> OutboundMessage:
    try:
        root = ElementTree.fromstring(body, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException) as e:
        raise BadMessage(f"not a SOAP envelope: {type(e).__name__}") from None
    notifications = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAP}}}Envelope" or notifications is None:
        raise BadMessage("expected a SOAP 1.1 Envelope whose Body holds an outbound message's notifications")
    items = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if not items or len(items) > MAX_NOTIFICATIONS:
        raise BadMessage(f"expected 1 to {MAX_NOTIFICATIONS} Notification elements, got {len(items)}")
    out = []
    for n in items:
        sobject = n.find(f"{{{OUTBOUND}}}sObject")
        note_id = _text(n.find(f"{{{OUTBOUND}}}Id"))
        if sobject is None or not note_id:
            raise BadMessage("each Notification needs an Id and an sObject")
        fields = {child.tag.rsplit("}", 1)[-1]: _text(child) for child in sobject}
        record = fields.get("Id")
        if not record:
            raise BadMessage(f"notification {note_id}: the sObject has no Id")
        kind = (sobject.get(f"{{{XSI}}}type") or "").rsplit(":", 1)[-1]
        out.append(Notification(note_id, kind, record, fields))
    return OutboundMessage(
        organization_id=_text(notifications.find(f"{{{OUTBOUND}}}OrganizationId")) or "",
        action_id=_text(notifications.find(f"{{{OUTBOUND}}}ActionId")) or "",
        notifications=out,
    )


def same_org(configured: str, sent: str) -> bool:
    """Org ids come as 15 or 18 characters; the first 15 identify the org (case-sensitively)."""
    return len(sent) in (15, 18) and configured[:15] == sent[:15]


def facts(record_id: str, fields: dict[str, str | None]) -> DealFacts:
    f = FIELDS
    out = DealFacts(crm="sf", record_id=record_id, record_label=f"Salesforce opportunity {record_id}")
    out.company = fields.get(f["company"])
    out.acv = fields.get(f["acv"])
    out.employees = fields.get(f["employees"])
    out.locale = fields.get(f["locale"])
    champion = fields.get(f["role"])
    if champion:
        out.contacts = [CrmContact(name=fields.get(f["champion_name"]) or champion, email=champion, role="champion")]
    out.sales_rep_email = fields.get(f["sales_rep"])
    out.sales_rep_name = fields.get(f["sales_rep_name"])
    out.success_criteria = lines(fields.get(f["success_criteria"]))
    return out


def field_names() -> dict[str, str]:
    return {
        "company": f"Opportunity field {FIELDS['company']} (formula: Account.Name)",
        "acv": "Opportunity Amount",
        "employees": f"Opportunity field {FIELDS['employees']} (formula: Account.NumberOfEmployees)",
        "role": f"Opportunity field {FIELDS['role']} (the champion contact's email)",
        "sales_rep": f"Opportunity field {FIELDS['sales_rep']} (formula: Owner.Email)",
        "success_criteria": f"Opportunity field {FIELDS['success_criteria']}",
    }
