"""A contract is validated at the edge: every problem names its field, and nothing starts."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.start import ContractError, parse_contract
from tests.conftest import CONTRACTS, contract

ROOT = Path(__file__).resolve().parent.parent


def refused(data: object) -> str:
    with pytest.raises(ContractError) as info:
        parse_contract(json.dumps(data))
    return str(info.value)


@pytest.mark.parametrize("segment", ["smb", "mid_market", "enterprise"])
def test_example_contracts_pick_their_segment(segment: str) -> None:
    parsed = parse_contract((CONTRACTS / f"{segment}.json").read_text())
    assert parsed.picked_segment() == segment
    assert parsed.signed_at is not None


@pytest.mark.parametrize(
    ("acv", "employees", "segment"),
    [
        (1_000, 10, "smb"),
        (9_999, 99, "smb"),
        (10_000, 10, "mid_market"),
        (5_000, 100, "mid_market"),
        (49_999, 999, "mid_market"),
        (50_000, 20, "enterprise"),
        (8_000, 1_000, "enterprise"),
    ],
)
def test_segment_follows_acv_and_company_size(acv: int, employees: int, segment: str) -> None:
    assert parse_contract(json.dumps(contract("smb", acv=acv, employees=employees))).picked_segment() == segment


def test_the_contract_can_override_the_segment() -> None:
    assert parse_contract(json.dumps(contract("smb", segment="enterprise"))).picked_segment() == "enterprise"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"acv": -5}, "acv: Input should be greater than 0"),
        ({"acv": 10**12}, "acv: Input should be less than or equal to 100000000"),
        ({"employees": "many"}, "employees: Input should be a valid integer"),
        ({"locale": "de"}, "locale: Input should be 'en', 'ru' or 'ms'"),
        ({"account_id": "Acme Corp!"}, "account_id: expected an account id like brightpath-dental"),
        ({"segment": "startup"}, "segment: Input should be 'smb', 'mid_market' or 'enterprise'"),
        ({"success_criteria": []}, "success_criteria: List should have at least 1 item"),
        ({"discount": 10}, "discount: Extra inputs are not permitted"),
        ({"company": "x" * 201}, "company: String should have at most 200 characters"),
        ({"signed_at": "2026-03-02T09:00:00"}, "signed_at: expected a timestamp with a time zone"),
        (
            {"sales_rep": {"name": "Jordan", "email": "jordan at vendor"}},
            "sales_rep.email: expected an email address like name@company.com",
        ),
        (
            {"contacts": [{"name": "Tom", "email": "tom@x.example", "role": "billing"}]},
            "contacts: expected one contact with role 'champion'",
        ),
        ({"contacts": [{"name": "Tom", "email": "tom@x.example", "role": "ceo"}]}, "contacts[0].role: Input should be"),
    ],
)
def test_bad_contracts_are_refused_naming_the_field(change: dict, message: str) -> None:
    assert message in refused(contract("smb", **change))


def test_a_missing_field_is_named() -> None:
    data = contract("smb")
    del data["company"]
    assert "company: Field required" in refused(data)


def test_a_contract_signed_in_the_future_is_refused() -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert refused(contract("smb", signed_at=tomorrow)) == "signed_at: the contract cannot be signed in the future"


def test_not_json_is_refused_with_the_position() -> None:
    with pytest.raises(ContractError, match=r"not valid JSON: .* at line 1, column 2"):
        parse_contract("{oops")


def test_the_starter_command_refuses_a_bad_contract_before_touching_temporal(tmp_path: Path) -> None:
    bad = tmp_path / "contract.json"
    bad.write_text(json.dumps(contract("smb", acv=0)))
    result = subprocess.run(
        [sys.executable, "starter.py", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"TEMPORAL_ADDRESS": "127.0.0.1:1", "PATH": ""},
        timeout=60,
    )
    assert result.returncode == 2
    assert "contract refused:\nacv: Input should be greater than 0" in result.stderr
    assert "priya@brightpath.example" not in result.stderr  # no personal data echoed back

    missing = subprocess.run(
        [sys.executable, "starter.py", str(tmp_path / "nope.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "nope.json: cannot read: No such file or directory" in missing.stderr
