"""Messages in and out of an onboarding: the contract, product events, CSM actions, status.

Every model forbids unknown fields, so a typo in a contract or an event is an error that
names the field instead of a value silently ignored. Payloads are plain JSON, so the stock
`temporal` CLI can send the same messages as our own scripts.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

Segment = Literal["smb", "mid_market", "enterprise"]
SEGMENTS: tuple[Segment, ...] = ("smb", "mid_market", "enterprise")
Locale = Literal["en", "ru", "ms"]
LOCALES: tuple[Locale, ...] = ("en", "ru", "ms")
"""The locales every template is written in."""
CustomerRole = Literal["champion", "billing", "it_admin", "legal", "end_user", "office_manager"]
VendorRole = Literal["csm", "implementation_specialist", "cs_manager", "sales_rep", "ongoing_csm"]
Role = Literal[
    "champion",
    "billing",
    "it_admin",
    "legal",
    "end_user",
    "office_manager",
    "colleague",
    "csm",
    "implementation_specialist",
    "cs_manager",
    "sales_rep",
    "ongoing_csm",
]
VENDOR_ROLES: frozenset[str] = frozenset(VendorRole.__args__)  # type: ignore[attr-defined]


def _email(value: str) -> str:
    local, _, domain = value.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in value) or "@" in domain:
        raise ValueError("expected an email address like name@company.com")
    return value.lower()


def _no_control(allowed: str) -> AfterValidator:
    """Refuse control characters: NUL cannot be stored by PostgreSQL, ESC would reach CSMs' terminals."""

    def check(value: str) -> str:
        bad = next((c for c in value if unicodedata.category(c) == "Cc" and c not in allowed), None)
        if bad is not None:
            raise ValueError(f"contains a control character (U+{ord(bad):04X}); expected printable text")
        return value

    return AfterValidator(check)


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Name = Annotated[str, Field(min_length=1, max_length=200), _no_control("")]
Text = Annotated[str, Field(max_length=5000), _no_control("\n\t")]
By = Annotated[str, Field(min_length=1, max_length=100)]


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected a time zone name like Europe/Berlin or America/New_York, got {value!r}") from None
    return value


TimeZone = Annotated[str, Field(max_length=60), AfterValidator(_zone)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("expected a timestamp with a time zone, e.g. 2026-03-02T09:00:00Z")
    return value.astimezone(UTC)


Timestamp = Annotated[datetime, AfterValidator(_aware)]


def field_path(loc: tuple[int | str, ...]) -> str:
    """('contacts', 0, 'email') -> 'contacts[0].email'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


NOT_TEXT_KEY = "a field name is not valid Unicode text"
ACCOUNT_ID = r"^[a-z0-9][a-z0-9_-]{1,62}$"
STAFF_ID = r"^[a-z0-9][a-z0-9._-]{0,62}$"
# What a pattern asks for, in words: a person reads these, never the regular expression.
PATTERN_WORDS = {
    ACCOUNT_ID: "expected an account id like brightpath-dental: 2-63 lowercase letters, digits, - or _",
    STAFF_ID: "expected a staff id like csm-leo: lowercase letters, digits, '.', - or _ (at most 63)",
    r"^[a-z0-9][a-z0-9_]*$": "expected an id like self_serve_setup: lowercase letters, digits and _",
    r"^[a-z0-9_.-]+$": "expected a name like booking_page_published: lowercase letters, digits, _ . or -",
}


def problems(error: ValidationError) -> list[str]:
    """One line per problem, naming the field: 'contacts[0].email: expected an email address ...'."""
    lines = []
    for e in error.errors():
        message = e["msg"].removeprefix("Value error, ")
        if not e["loc"] and e["type"] == "string_unicode":
            message = NOT_TEXT_KEY  # a key like "\ud800": there is no field name to give
        elif e["type"] == "string_pattern_mismatch":
            message = f"{PATTERN_WORDS.get(e['ctx']['pattern'], 'not in the expected form')}, got {e['input']!r}"
        lines.append(f"{field_path(e['loc'])}: {message}" if e["loc"] else message)  # model checks name their field
    return lines


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Person(Strict):
    name: Name
    email: Email


class Contact(Person):
    role: CustomerRole


class Handover(Strict):
    """The sales-to-CS hand-over form: what the deal promised and who matters."""

    goals: list[Name] = []
    stakeholders: list[Name] = []
    risks: list[Name] = []
    notes: Text = ""

    def complete(self, requires: tuple[str, ...]) -> bool:
        """Complete when every field the playbook requires is filled in."""
        return all(getattr(self, name) for name in requires)


class Contract(Strict):
    """A signed contract: everything needed to start one customer's onboarding."""

    account_id: str = Field(pattern=ACCOUNT_ID)
    company: Name
    acv: Decimal = Field(gt=0, le=100_000_000, description="annual contract value, USD")
    employees: int = Field(ge=1, le=5_000_000)
    locale: Locale = "en"
    timezone: TimeZone = Field("UTC", description="the customer's time zone: quiet hours and business days")
    seats: int | None = Field(None, ge=1, le=5_000_000, description="licensed users; default: employees")
    signed_at: Timestamp | None = None
    contacts: list[Contact] = Field(min_length=1, max_length=50)
    sales_rep: Person
    handover: Handover = Handover()
    success_criteria: list[Name] = Field(min_length=1, max_length=20)
    segment: Segment | None = Field(None, description="overrides the segment picked from ACV and size")

    @model_validator(mode="after")
    def _has_champion(self) -> Contract:
        if not any(c.role == "champion" for c in self.contacts):
            raise ValueError("contacts: expected one contact with role 'champion' (the onboarding owner)")
        return self

    @property
    def workflow_id(self) -> str:
        return workflow_id(self.account_id)

    def picked_segment(self) -> Segment:
        """The contract's segment: its override, else by ACV and company size (DOMAIN.md)."""
        if self.segment:
            return self.segment
        if self.acv >= 50_000 or self.employees >= 1000:
            return "enterprise"
        if self.acv >= 10_000 or self.employees >= 100:
            return "mid_market"
        return "smb"

    def contact(self, role: str) -> Contact:
        """Who on the customer side gets mail for `role`; the champion stands in for a missing role."""
        for c in self.contacts:
            if c.role == role:
                return c
        return next(c for c in self.contacts if c.role == "champion")


def workflow_id(account_id: str) -> str:
    return f"onboarding-{account_id}"


def account_of(workflow_or_account_id: str) -> str:
    return workflow_or_account_id.removeprefix("onboarding-")


class StaffMember(Strict):
    id: str = Field(pattern=STAFF_ID)
    name: Name
    email: Email
    locale: Locale = "en"
    timezone: TimeZone = "UTC"


class Team(Strict):
    """The vendor-side people on one onboarding."""

    csm: StaffMember
    cs_manager: StaffMember
    implementation_specialist: StaffMember | None = None
    ongoing_csm: StaffMember | None = None
    """Who owns the account after onboarding; the CSM stays on when the roster names nobody."""


# ---- Status (query) ------------------------------------------------------------------------

Health = Literal["green", "yellow", "red"]
State = Literal["active", "paused", "completed", "cancelled"]


class OpenEscalation(BaseModel):
    id: str
    reason: str
    to: str
    assignee: str
    opened_at: datetime
    kind: Literal["escalation", "task"] = "escalation"
    due_at: datetime | None = None


class Status(BaseModel):
    account_id: str
    company: str
    segment: Segment
    state: State
    phase: str
    phase_title: str
    steps_done: list[str]
    steps_pending: list[str]
    steps_skipped: list[str]
    modules_done: list[str]
    next_action: str | None
    next_action_at: datetime | None
    health: Health
    health_reason: str
    open_escalations: list[OpenEscalation]
    days_since_last_activity: float
    last_activity_at: datetime | None = None
    paused_until: datetime | None
    owner: str
    signed_at: datetime
    due_at: datetime
    completed_at: datetime | None
    days_to_first_value: float | None
    playbook: str | None = None
    """The playbook version followed: `label@hash` (None in answers from before versions)."""
    variant: str | None = None
    """The A/B test group it is in, when its playbook runs one."""
