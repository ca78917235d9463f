"""From what a CRM knows about a won deal to the contract an onboarding starts from.

Both CRMs are read into `DealFacts` (every field optional, as CRM data is), then checked
once here: either a valid Contract, or every missing or unusable field named in a sales
rep's words, so one task tells them all that must be fixed before the onboarding can start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError

from onboarding.models import Contract, problems

LOCALES = ("en", "ru", "ms")
ROLE_ALIASES = {
    "champion": "champion",
    "onboarding_owner": "champion",
    "owner": "champion",
    "billing": "billing",
    "billing_contact": "billing",
    "it_admin": "it_admin",
    "it": "it_admin",
    "legal": "legal",
    "end_user": "end_user",
    "user": "end_user",
    "office_manager": "office_manager",
}


@dataclass
class CrmContact:
    name: str
    email: str
    role: str | None
    """The role as the CRM spells it ('Champion', 'IT admin'); None when unset."""


@dataclass
class DealFacts:
    crm: str
    record_id: str
    record_label: str
    """How a person finds the record: 'HubSpot deal 123', 'Salesforce opportunity 006...'."""
    company: str | None = None
    acv: str | None = None
    employees: str | None = None
    locale: str | None = None
    contacts: list[CrmContact] = field(default_factory=list)
    sales_rep_name: str | None = None
    sales_rep_email: str | None = None
    success_criteria: list[str] = field(default_factory=list)
    signed_at: datetime | None = None
    """When the deal became won (the notification's time), set by the processor."""

    @property
    def account_id(self) -> str:
        return account_id(self.crm, self.record_id)


def account_id(crm: str, record_id: str) -> str:
    return f"{crm}-{record_id.lower()}"


class IncompleteDeal(ValueError):
    """The deal lacks what a contract needs; `missing` names each field, in CRM terms."""

    def __init__(self, label: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"{label} cannot start an onboarding: " + "; ".join(missing))


def role_of(raw: str | None) -> str | None:
    """'Champion', 'IT admin', 'it-admin' -> the contract's role; None when not one we know."""
    if not raw:
        return None
    return ROLE_ALIASES.get(raw.strip().lower().replace(" ", "_").replace("-", "_"))


def locale_of(raw: str | None) -> str:
    """HubSpot 'en-us', Salesforce 'ru_RU' -> 'en' / 'ru' / 'ms'; English when unset or not offered."""
    base = (raw or "en").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LOCALES else "en"


def contract(facts: DealFacts, field_names: dict[str, str]) -> Contract:
    """The contract, or IncompleteDeal naming every field to fix (`field_names`: our field -> CRM field)."""
    missing: list[str] = []

    def need(ours: str, value: object, what: str) -> None:
        if value in (None, "", []):
            missing.append(f"{field_names.get(ours, ours)}: {what}")

    need("company", facts.company, "the associated company's name is empty")
    acv = _decimal(facts.acv)
    if acv is None or acv <= 0:
        missing.append(f"{field_names.get('acv', 'acv')}: expected the annual contract value, a positive amount")
    employees = _int(facts.employees)
    if employees is None or employees < 1:
        missing.append(f"{field_names.get('employees', 'employees')}: expected the company's number of employees")
    contacts = [(c, role_of(c.role)) for c in facts.contacts]
    if not any(r == "champion" for _, r in contacts):
        missing.append(
            f"{field_names.get('role', 'role')}: no contact is marked as the champion (the customer's onboarding owner)"
        )
    for c, r in contacts:
        if c.role and r is None:
            missing.append(f"{field_names.get('role', 'role')}: a contact's role {c.role!r} is not one we know")
    need("sales_rep", facts.sales_rep_email, "the deal has no owner (sales rep) with an email address")
    need("success_criteria", facts.success_criteria, "no success criteria: one per line")
    if missing:
        raise IncompleteDeal(facts.record_label, missing)
    data = {
        "account_id": facts.account_id,
        "company": facts.company,
        "acv": str(acv),
        "employees": employees,
        "locale": locale_of(facts.locale),
        "signed_at": facts.signed_at,
        "contacts": [{"name": c.name or c.email, "email": c.email, "role": r} for c, r in contacts if r],
        "sales_rep": {"name": facts.sales_rep_name or facts.sales_rep_email, "email": facts.sales_rep_email},
        "success_criteria": facts.success_criteria[:20],
    }
    try:
        return Contract.model_validate(data)
    except ValidationError as e:
        raise IncompleteDeal(facts.record_label, problems(e)) from None


def _decimal(raw: str | None) -> Decimal | None:
    try:
        return Decimal(str(raw).replace(",", "")) if raw not in (None, "") else None
    except InvalidOperation:
        return None


def _int(raw: str | None) -> int | None:
    value = _decimal(raw)
    return int(value) if value is not None else None


def lines(raw: str | None) -> list[str]:
    """A multi-line CRM text field (or HubSpot's ';'-separated multi-select) as a list."""
    if not raw:
        return []
    parts = raw.replace(";", "\n").splitlines()
    return [p.strip(" -•\t") for p in parts if p.strip(" -•\t")]
