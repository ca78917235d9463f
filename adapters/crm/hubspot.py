"""HubSpot: read a won deal (deal, company, contacts, owner) and write the onboarding back onto it.

Everything goes through the official `hubspot-api-client` (HUBSPOT_API_URL points it at
another host, e.g. a test's fake). A contact's role comes from a contact property
(HUBSPOT_ROLE_PROPERTY) or, with HUBSPOT_ROLE_SOURCE=label, from the deal-to-contact
association label ("Champion", "Billing", ...). Errors carry HubSpot's status and category,
never the access token or a contact's details.
"""

from __future__ import annotations

import logging
from typing import Any

from hubspot import HubSpot
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from hubspot.crm.deals import SimplePublicObjectInput

from adapters.crm.mapping import CrmContact, DealFacts, lines
from adapters.integrations import HubSpotSettings

# The client logs every response body (contacts' names and emails) at DEBUG.
logging.getLogger("hubspot").setLevel(logging.WARNING)
TIMEOUT = (5, 15)
"""Connect and read timeouts, seconds: a slow HubSpot must not hold an inbox row past its lease."""
DEAL_PROPERTIES = ["dealname", "dealstage", "pipeline", "hubspot_owner_id"]
COMPANY_PROPERTIES = ["name", "numberofemployees"]
CONTACT_PROPERTIES = ["firstname", "lastname", "email", "hs_language"]


class HubSpotError(Exception):
    """HubSpot answered with an error; `retryable` for rate limits, outages and timeouts."""

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def client(settings: HubSpotSettings) -> HubSpot:
    return HubSpot(access_token=settings.access_token, host=settings.api_url)


def field_names(settings: HubSpotSettings) -> dict[str, str]:
    """Our contract fields in the words of a HubSpot user, for the 'missing fields' task."""
    role = (
        f"contact property {settings.role_property!r}"
        if settings.role_source == "property"
        else "deal-to-contact association label"
    )
    return {
        "company": "company name (associate a company with the deal)",
        "acv": f"deal property {settings.acv_property!r}",
        "employees": "company property 'numberofemployees'",
        "role": role,
        "sales_rep": "deal owner",
        "success_criteria": f"deal property {settings.success_property!r}",
    }


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, _request_timeout=TIMEOUT, **kwargs)
    except Exception as e:  # the client raises ApiException, urllib3 errors, ...: sorted here
        status = getattr(e, "status", None)
        if status is None:
            raise HubSpotError(f"HubSpot {what}: {type(e).__name__} (network)", retryable=True) from None
        retryable = status == 429 or status >= 500
        raise HubSpotError(f"HubSpot {what}: HTTP {status} {getattr(e, 'reason', '')}".strip(), retryable) from None


def read_deal(settings: HubSpotSettings, deal_id: str) -> tuple[DealFacts, str, str]:
    """The deal's facts, and its pipeline and stage now (the event may be older than the deal)."""
    hs = client(settings)
    props = [*DEAL_PROPERTIES, settings.acv_property, settings.success_property]
    deal = _call("read deal", hs.crm.deals.basic_api.get_by_id, deal_id, properties=props)
    p: dict[str, Any] = deal.properties or {}
    facts = DealFacts(crm="hubspot", record_id=str(deal.id), record_label=f"HubSpot deal {deal.id}")
    facts.acv = p.get(settings.acv_property)
    facts.success_criteria = lines(p.get(settings.success_property))
    companies = _associated(hs, deal_id, "companies")
    if companies:
        read = hs.crm.companies.basic_api.get_by_id
        company = _call("read company", read, companies[0][0], properties=COMPANY_PROPERTIES)
        facts.company = (company.properties or {}).get("name")
        facts.employees = (company.properties or {}).get("numberofemployees")
    facts.contacts, facts.locale = _contacts(hs, settings, deal_id)
    owner_id = p.get("hubspot_owner_id")
    if owner_id:
        owner = _call("read deal owner", hs.crm.owners.owners_api.get_by_id, int(owner_id))
        facts.sales_rep_email = owner.email
        facts.sales_rep_name = " ".join(n for n in (owner.first_name, owner.last_name) if n) or None
    return facts, str(p.get("pipeline") or ""), str(p.get("dealstage") or "")


def _associated(hs: HubSpot, deal_id: str, to: str) -> list[tuple[str, list[str]]]:
    """(id, labels) of the deal's associated records of one type (v4: labels included)."""
    out: list[tuple[str, list[str]]] = []
    after = None
    while True:
        page = _call(f"read deal {to}", hs.crm.associations.v4.basic_api.get_page, "deals", deal_id, to, after=after)
        for r in page.results or []:
            labels = [t.label for t in (r.association_types or []) if t.label]
            out.append((str(r.to_object_id), labels))
        after = page.paging.next.after if page.paging and page.paging.next else None
        if not after:
            return out


def _contacts(hs: HubSpot, settings: HubSpotSettings, deal_id: str) -> tuple[list[CrmContact], str | None]:
    associated = _associated(hs, deal_id, "contacts")
    if not associated:
        return [], None
    props = [*CONTACT_PROPERTIES, settings.role_property]
    batch = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i, _ in associated[:100]], properties=props, properties_with_history=[]
    )
    read = _call("read contacts", hs.crm.contacts.batch_api.read, batch)
    labels = dict(associated)
    contacts, locale = [], None
    for c in read.results or []:
        p = c.properties or {}
        if not p.get("email"):
            continue
        name = " ".join(n for n in (p.get("firstname"), p.get("lastname")) if n)
        if settings.role_source == "property":
            role = p.get(settings.role_property)
        else:
            role = next(iter(labels.get(str(c.id), [])), None)
        contacts.append(CrmContact(name=name, email=p["email"], role=role))
        if role and role.strip().lower() == "champion":
            locale = p.get("hs_language")
    return contacts, locale


def write_back(settings: HubSpotSettings, deal_id: str, phase: str | None, status: str) -> None:
    """Set the deal's onboarding phase (when given) and status properties."""
    properties = {settings.status_property: status}
    if phase is not None:
        properties[settings.phase_property] = phase
    hs = client(settings)
    _call("update deal", hs.crm.deals.basic_api.update, deal_id, SimplePublicObjectInput(properties=properties))
