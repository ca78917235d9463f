"""Every refusal says what is expected in a CSM's words: no regular expression, no parser jargon,
and a "did you mean" for a mistyped account, module, kind, template or phase."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

import admin
from tests.live_stack import ROOT, LiveStack, live  # noqa: F401 (the fixture)

JARGON = ("^", "$", "{1,62}", "input is too short", "Value error", "String should match", "tonic::", "WorkflowType")


def said(*args: str, code: int) -> str:
    result = CliRunner().invoke(admin.app, list(args))
    assert result.exit_code == code, result.output
    text = " ".join(line.strip("│ ╭╰─") for line in result.output.splitlines())
    for word in JARGON:
        assert word not in text, f"{word!r} in: {text}"
    return " ".join(text.split())


def test_a_date_that_is_not_one_names_the_format_with_an_example() -> None:
    text = said("pause", "brightpath-dental", "--reason", "freeze", "--by", "csm-leo", "--until", "yesterday", code=2)
    assert text == (
        "--until: expected a date like 2026-04-01 (midnight UTC) or a time with its zone like"
        " 2026-04-01T09:00+02:00, got 'yesterday'"
    )
    text = said("pause", "brightpath-dental", "--reason", "x", "--by", "a", "--until", "2026-04-01T09:00", code=2)
    assert text.endswith("'2026-04-01T09:00' has no zone (add Z for UTC)")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["touch", "acme", "personal_welcom", "--by", "a"], "did you mean 'personal_welcome'?"),
        (["event", "acme", "first_logn"], "'first_logn' is not a product event; expected one of first_login,"),
        (["event", "acme", "first_logn"], "did you mean 'first_login'?"),
        (
            ["timeline", "acme", "--kind", "emial"],
            "--kind: 'emial' is not a kind of timeline entry; did you mean 'email'?",
        ),
        (["preview", "welcom"], "unknown template 'welcom'; did you mean 'welcome'?"),
    ],
)
def test_a_mistyped_name_gets_a_did_you_mean(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(admin.app, args)
    assert result.exit_code in (1, 2)
    text = " ".join(" ".join(line.strip("│ ╭╰─") for line in result.output.splitlines()).split())
    assert expected in text
    assert "Value error" not in text


def test_a_bad_account_id_in_a_contract_is_described_not_shown_as_a_pattern(live: LiveStack) -> None:  # noqa: F811
    data = json.loads((ROOT / "contracts" / "smb.json").read_text())
    path = live.home / "bad-id.json"
    path.write_text(json.dumps(data | {"account_id": "Bright Path"}))
    result = live.sh(f"python starter.py {path}")
    assert result.returncode == 2
    assert result.stderr == (
        "contract refused:\naccount_id: expected an account id like brightpath-dental: 2-63 lowercase letters,"
        " digits, - or _, got 'Bright Path'\n"
    )


def test_a_mistyped_account_and_phase_get_a_did_you_mean(live: LiveStack) -> None:  # noqa: F811
    account = live.begin("smb")
    result = live.sh(f"python admin.py status {account[:-1]}")
    assert result.returncode == 1
    assert result.stderr.strip() == f"no onboarding for account {account[:-1]!r}; did you mean {account!r}?"
    result = live.sh("python admin.py list --phase self_serve")
    assert result.stdout.splitlines() == [
        "no running onboardings with phase self_serve",
        "--phase: no playbook has a phase 'self_serve'; did you mean 'self_serve_setup'?",
    ]


def test_no_temporal_says_what_to_start(live: LiveStack) -> None:  # noqa: F811
    env = live.env | {"TEMPORAL_ADDRESS": "127.0.0.1:9"}
    result = subprocess.run(
        "python admin.py status brightpath-dental", shell=True, cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "cannot reach Temporal at 127.0.0.1:9 (nothing answers there): is the engine running? Start it with"
        " `bash scripts/up.sh`, or point TEMPORAL_ADDRESS at your cluster."
    )
