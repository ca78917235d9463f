"""Property-based tests (hypothesis) of the parsers at the edge: contracts, product events, playbooks.

Whatever arrives, each parser either accepts it or refuses it with problems that name their
field, and never fails any other way; what it accepts reaches the workflow unchanged (the
pydantic payload converter's round trip); a valid document with one field spoilt is refused
naming that field.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

import starter
from adapters.email.render import available
from intake.app import IntakeSettings, create_app
from intake.signing import headers
from onboarding import playbook
from onboarding.journey import Journey, OnboardingInput, Progress, view
from onboarding.messages import ProductEvent
from onboarding.models import NOT_TEXT_KEY, SEGMENTS, Contract, Segment, problems
from onboarding.playbook import PlaybookError, parse_duration

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = available()
SHIPPED = {segment: yaml.safe_load((ROOT / "playbooks" / f"{segment}.yaml").read_text()) for segment in SEGMENTS}
RANK = {segment: i for i, segment in enumerate(SEGMENTS)}
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.text(st.characters(exclude_characters="\n\r"), max_size=10)  # one problem a line, as printed
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


def roundtrip(value: Any, kind: type) -> Any:
    """Through the payload converter, as a workflow input or signal travels."""

    async def trip() -> Any:
        [decoded] = await pydantic_data_converter.decode(await pydantic_data_converter.encode([value]), [kind])
        return decoded

    return asyncio.run(trip())


def named(line: str, fields: set[str], given_keys: set[str]) -> bool:
    """Does a problem line start with a field the model has, or a key the input had? (An empty
    key is shown as '(top level)', the name models.field_path gives an empty path.)"""
    names = fields | {key or "(top level)" for key in given_keys}
    if line == NOT_TEXT_KEY:  # a key like "\ud800" has no name to give
        return True
    return any(line.startswith((f"{name}:", f"{name}[", f"{name}.")) for name in names)


# ---- contracts ------------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(str.strip)
EMAIL = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"\A[A-Za-z0-9._+-]{1,20}\Z"),
    st.from_regex(r"\A[a-z0-9-]{1,20}\Z"),
    st.sampled_from(["com", "example", "co.uk"]),
)
PERSON = st.fixed_dictionaries({"name": TEXT, "email": EMAIL})
CONTACT = st.fixed_dictionaries(
    {"name": TEXT, "email": EMAIL, "role": st.sampled_from(["billing", "it_admin", "legal", "end_user", "champion"])}
)
ZONE = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
CONTRACT = st.fixed_dictionaries(
    {
        "account_id": st.from_regex(r"\A[a-z0-9][a-z0-9_-]{1,62}\Z"),
        "company": TEXT,
        "acv": st.decimals(Decimal("0.01"), Decimal(100_000_000), places=2).map(str),
        "employees": st.integers(1, 5_000_000),
        "contacts": st.tuples(PERSON, st.lists(CONTACT, max_size=4)).map(
            lambda c: [{**c[0], "role": "champion"}, *c[1]]
        ),
        "sales_rep": PERSON,
        "success_criteria": st.lists(TEXT, min_size=1, max_size=4),
    },
    optional={
        "locale": st.sampled_from(["en", "ru", "ms"]),
        "signed_at": st.datetimes(datetime(2020, 1, 1), datetime(2026, 1, 1), timezones=ZONE).map(datetime.isoformat),
        "handover": st.fixed_dictionaries({}, optional={"goals": st.lists(TEXT, max_size=3), "notes": TEXT}),
        "segment": st.sampled_from(SEGMENTS),
    },
)


@FAST
@given(value=JSON)
def test_any_json_is_a_contract_or_a_refusal_that_names_each_field(value: Any) -> None:
    try:
        starter.parse_contract(json.dumps(value))
    except starter.ContractError as e:
        lines = str(e).split("\n")
        assert lines
        if isinstance(value, dict):
            assert all(named(line, set(Contract.model_fields), set(value)) for line in lines), lines
        else:
            assert lines == ["Input should be a valid dictionary or instance of Contract"]


@FAST
@given(doc=CONTRACT)
def test_a_valid_contract_is_accepted_and_reaches_the_workflow_unchanged(doc: dict[str, Any]) -> None:
    signed = starter.parse_contract(json.dumps(doc))
    assert signed.signed_at is not None and signed.signed_at.tzinfo is not None
    assert all(c.email == c.email.lower() and c.email.count("@") == 1 for c in signed.contacts)
    given_input = OnboardingInput(contract=signed, playbook=playbook.parse(SHIPPED["smb"], "smb.yaml"))
    assert roundtrip(given_input, OnboardingInput) == given_input


@FAST
@given(doc=CONTRACT, more_acv=st.integers(0, 10**6), more_staff=st.integers(0, 10**4))
def test_a_bigger_deal_never_gets_a_lighter_touch(doc: dict[str, Any], more_acv: int, more_staff: int) -> None:
    doc.pop("segment", None)
    small = starter.parse_contract(json.dumps(doc))
    bigger = dict(doc, acv=str(min(Decimal(doc["acv"]) + more_acv, Decimal(100_000_000))))
    bigger["employees"] = min(doc["employees"] + more_staff, 5_000_000)
    assert RANK[starter.parse_contract(json.dumps(bigger)).picked_segment()] >= RANK[small.picked_segment()]


SPOILABLE = ["account_id", "company", "acv", "employees", "contacts", "sales_rep", "success_criteria", "locale"]


@FAST
@given(doc=CONTRACT, field=st.sampled_from(SPOILABLE), how=st.sampled_from(["wrong type", "missing"]))
def test_a_contract_with_one_field_spoilt_is_refused_naming_it(doc: dict[str, Any], field: str, how: str) -> None:
    if how == "missing" and field == "locale":
        return  # the one field here with a default
    if how == "missing":
        doc.pop(field)
    else:
        doc[field] = {"spoilt": True}
    with pytest.raises(starter.ContractError) as refused:
        starter.parse_contract(json.dumps(doc))
    assert [line for line in str(refused.value).split("\n") if line.startswith(f"{field}")], str(refused.value)


# ---- product events --------------------------------------------------------------------------------

EVENT_CORE = st.one_of(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["first_login", "teammate_invited", "integration_connected", "support_ticket"])}
    ),
    st.fixed_dictionaries({"name": st.just("key_action"), "action": st.from_regex(r"\A[a-z0-9_.-]{1,100}\Z")}),
    st.fixed_dictionaries(
        {"name": st.just("survey_answer"), "goal_reached": st.booleans()},
        optional={"csat": st.integers(1, 5), "ces": st.integers(1, 7)},
    ),
)
DELIVERY = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(min_size=1, max_size=200).filter(str.strip),  # a delivery id is never blank
        "at": st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1), timezones=ZONE).map(datetime.isoformat),
    },
)
EVENT = st.tuples(EVENT_CORE, DELIVERY).map(lambda parts: {**parts[0], **parts[1]})


@FAST
@given(value=JSON)
def test_any_json_is_an_event_or_a_refusal_that_names_each_field(value: Any) -> None:
    try:
        ProductEvent.model_validate(value)
    except ValidationError as e:
        lines = problems(e)
        assert lines
        if isinstance(value, dict):
            fields = set(ProductEvent.model_fields) | {
                "csat, ces and goal_reached belong to survey_answer events only",
                NOT_TEXT_KEY,
            }
            assert all(named(line, fields, set(value)) or line in fields for line in lines), lines


@FAST
@given(body=EVENT)
def test_a_valid_event_is_accepted_and_reaches_the_workflow_unchanged(body: dict[str, Any]) -> None:
    event = ProductEvent.model_validate(json.loads(json.dumps(body)))
    assert roundtrip(event, ProductEvent) == event
    if event.at is not None:
        assert event.at.tzinfo == UTC


# ---- bodies that are not UTF-8 at all ---------------------------------------------------------------

NOT_UTF8 = st.binary(min_size=1, max_size=60).filter(lambda raw: not _decodes(raw))


def _decodes(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@settings(max_examples=25, deadline=None)
@given(raw=NOT_UTF8)
def test_a_body_that_is_not_utf8_is_refused_as_bad_input(raw: bytes) -> None:
    app = create_app(IntakeSettings(secret="property-test-secret-0123", max_body=65536, max_skew=300))
    app.state.client = None  # never reached: the body is refused before Temporal is called

    async def send() -> list[int]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            sent = headers("property-test-secret-0123", raw)
            return [
                (await http.post(path, content=raw, headers=sent)).status_code
                for path in ("/contracts", "/accounts/acme/events")
            ]

    assert asyncio.run(send()) == [400, 400]


# ---- playbooks -------------------------------------------------------------------------------------


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node)
    if isinstance(node, list):
        return list(range(len(node)))
    return []


@st.composite
def spoilt_playbook(draw: st.DrawFn) -> dict[str, Any]:
    """A shipped playbook with one change somewhere inside: a key removed, a value replaced, a key added."""
    data = copy.deepcopy(SHIPPED[draw(st.sampled_from(SEGMENTS))])
    parent: Any = None
    key: Any = None
    node: Any = data
    while _children(node) and (parent is None or draw(st.booleans())):
        parent, key = node, draw(st.sampled_from(_children(node)))
        node = parent[key]
    how = draw(st.sampled_from(["remove", "replace", "add"]))
    if how == "add" and isinstance(node, dict):
        node[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
    elif how == "remove" and parent is not None:
        del parent[key]
    elif parent is not None:
        parent[key] = draw(JSON)
    return data


@FAST
@given(data=spoilt_playbook())
def test_a_spoilt_playbook_is_refused_line_by_line_or_runs(data: dict[str, Any]) -> None:
    try:
        pb = playbook.parse(data, "edited.yaml", TEMPLATES)
    except PlaybookError as e:
        lines = str(e).split("\n")
        assert lines and all(line.startswith("edited.yaml: ") for line in lines), lines
        return
    # Accepted: the rules must be able to run it from the day it is signed.
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    signed = starter.parse_contract((ROOT / "contracts" / f"{pb.segment}.json").read_text(), now=now)
    journey = Journey(signed, pb, Progress(ref="onboarding-x.1", phase_started_at=now, last_activity_at=now))
    assert view.status(journey, now).phase == pb.phases[0].id
    journey.next_wake(now)


@FAST
@given(value=JSON)
def test_any_data_is_a_playbook_or_a_refusal_naming_the_file(value: Any) -> None:
    with pytest.raises(PlaybookError) as refused:
        playbook.parse(value, "edited.yaml", TEMPLATES)
    assert all(line.startswith("edited.yaml: ") for line in str(refused.value).split("\n"))


@pytest.mark.parametrize("segment", SEGMENTS)
def test_a_shipped_playbook_reaches_the_workflow_unchanged(segment: Segment) -> None:
    pb = playbook.parse(SHIPPED[segment], f"{segment}.yaml", TEMPLATES)
    assert playbook.parse(pb.model_dump(mode="json"), "again", TEMPLATES) == pb
    assert roundtrip(pb, playbook.Playbook) == pb


UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@FAST
@given(amount=st.decimals(0, 10_000, places=2), unit=st.sampled_from(list(UNITS)))
def test_a_duration_means_what_it_says(amount: Decimal, unit: str) -> None:
    assert parse_duration(f"{amount}{unit}") == timedelta(**{UNITS[unit]: float(amount)})


@FAST
@given(
    text=st.text(max_size=12).filter(
        lambda t: not re.match(r"^\s*\d+(\.\d+)?\s*[smhdw]\s*$", t) and not t.startswith("P")
    )
)
def test_anything_else_is_refused_quoting_it(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration(text)
    assert str(refused.value) == f"expected a duration like '24h', '3d' or '2w', got {text!r}"
