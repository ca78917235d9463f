"""Playbooks load only when every rule can run; each problem names the file, the path and what is wrong."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.email.render import available
from onboarding import playbook

ROOT = Path(__file__).resolve().parent.parent
SMB = yaml.safe_load((ROOT / "playbooks" / "smb.yaml").read_text())


def problems_of(change: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(SMB)
    change(data)
    with pytest.raises(playbook.PlaybookError) as info:
        playbook.parse(data, "smb.yaml", available())
    return str(info.value)


@pytest.mark.parametrize("segment", ["smb", "mid_market", "enterprise"])
def test_shipped_playbooks_are_valid(segment: str) -> None:
    pb = playbook.for_segment(segment, available())  # type: ignore[arg-type]
    assert pb.segment == segment and "success" in pb.phases[-1].exit_when


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "unknown key",
        lambda d: d["phases"][0].update(stepz=[]),
        "smb.yaml: phases[0].stepz: Extra inputs are not permitted",
    ),
    (
        "bad duration",
        lambda d: d["phases"][1].update(planned="a week"),
        "smb.yaml: phases[1].planned: expected a duration like '24h', '3d' or '2w', got 'a week'",
    ),
    (
        "unknown fact",
        lambda d: d["phases"][0]["steps"][0].update(done_when="first_logn"),
        "smb.yaml: phases[0].steps[0].done_when: unknown fact 'first_logn'",
    ),
    (
        "unknown module",
        lambda d: d["phases"][1]["steps"][0].update(done_when="module:advanced"),
        "smb.yaml: phases[1].steps[0].done_when: unknown fact 'module:advanced'",
    ),
    (
        "missing template",
        lambda d: d["reactions"]["signed"][0].update(template="welcom"),
        "smb.yaml: templates: template 'welcom' does not exist in templates/",
    ),
    (
        "unknown role",
        lambda d: d["reactions"]["signed"][0].update(to="ceo"),
        "smb.yaml: reactions.signed[0].send.to:",
    ),
    (
        "phase that never ends",
        lambda d: d["phases"][2].update(exit_when=[], ends=None, deadline=None),
        "smb.yaml: phases[2]: the phase can never end: give it steps, exit_when, ends or a deadline that moves on",
    ),
    (
        "no success at the end",
        lambda d: d["phases"][3].update(exit_when=["survey_answered"]),
        "smb.yaml: phases[3].exit_when: the last phase must end on 'success'",
    ),
    (
        "duplicate phase",
        lambda d: d["phases"].append(copy.deepcopy(d["phases"][0])),
        "smb.yaml: phases: duplicate id(s): self_serve_setup",
    ),
    (
        "timer that does nothing",
        lambda d: d["timers"][0].pop("send") and d["timers"][0].pop("escalate"),
        "smb.yaml: timers[0]: give 'send', 'escalate' or 'task' (or several)",
    ),
    (
        "global timer on phase start",
        lambda d: d["timers"][0].update(since="phase_start"),
        "smb.yaml: timers[0].since: a playbook-wide timer cannot start at phase_start unless it names its phases",
    ),
    (
        "timer from an unknown fact",
        lambda d: d["timers"][0].update(since="kickof_done"),
        "smb.yaml: timers[0].since: unknown fact 'kickof_done'",
    ),
    (
        "condition that is not one",
        lambda d: d["timers"][0].update(when=["csat >= high"]),
        "smb.yaml: timers[0].when: 'csat >= high': >= compares numbers, got 'high'",
    ),
    (
        "during an unknown phase",
        lambda d: d["timers"][0].update(during=["onboarding"]),
        "smb.yaml: timers[0].during: unknown phase 'onboarding'; phases: self_serve_setup, early_training",
    ),
    (
        "cadence that ends before it starts",
        lambda d: d["timers"][0].update({"every": "1d", "for": "12h"}),
        "smb.yaml: timers[0].for: the cadence would end before its first occurrence",
    ),
    (
        "count without a cadence",
        lambda d: d["timers"][0].update(times=3),
        "smb.yaml: timers[0]: 'times' and 'for' need 'every'",
    ),
    (
        "a title missing a language",
        lambda d: d["phases"][0]["title"].pop("ms"),
        "smb.yaml: phases[0].title: missing the text in ms (the templates speak en, ms, ru)",
    ),
    (
        "deadline that does nothing",
        lambda d: d["phases"][2].update(deadline={"after": "30d", "since": "signed"}),
        "smb.yaml: phases[2].deadline: a deadline needs 'move_on: true', 'escalate' or 'send'",
    ),
    (
        "criterion on an unknown fact",
        lambda d: d["success_criteria"][0].update(when=["key_acton"]),
        "smb.yaml: success_criteria[0].when: unknown fact 'key_acton'",
    ),
    (
        "quiet hours without their end",
        lambda d: d.update(pressure={"quiet_from": "20:00"}),
        "smb.yaml: pressure: give quiet_from and quiet_until together",
    ),
    (
        "unknown reaction",
        lambda d: d["reactions"].update(resigned=[]),
        "smb.yaml: reactions.resigned: Extra inputs are not permitted",
    ),
    (
        "endless middle cadence",
        lambda d: d["check_ins"][0].pop("times"),
        "smb.yaml: check_ins[0].times: only the last check-in stage may repeat forever",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_is_reported_with_file_path_and_problem(
    change: Callable[[dict[str, Any]], None], message: str
) -> None:
    assert message in problems_of(change)


def test_every_problem_is_reported_not_just_the_first() -> None:
    def two(d: dict[str, Any]) -> None:
        d["phases"][0]["steps"][0]["done_when"] = "nope"
        d["reactions"]["success"][0]["template"] = "nope_template"

    assert len(problems_of(two).splitlines()) == 2


def test_admin_playbook_validate_names_file_path_and_problem(tmp_path: Path) -> None:
    broken = tmp_path / "smb_edit.yaml"
    data = copy.deepcopy(SMB)
    data["phases"][0]["timers"][0]["after"] = "1 day"
    broken.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [sys.executable, "admin.py", "playbook", "validate", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{broken}: phases[0].timers[0].after: expected a duration like" in result.stderr

    good = subprocess.run(
        [sys.executable, "admin.py", "playbook", "validate"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert good.returncode == 0 and good.stdout.count(": ok (") == 3


def test_not_yaml_is_refused_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("phases: [unclosed")
    with pytest.raises(playbook.PlaybookError, match=f"{path}: not valid YAML"):
        playbook.load(path)


def test_editing_a_playbook_never_changes_onboardings_in_flight() -> None:
    """The workflow input carries the playbook itself (a snapshot), not a reference to the file."""
    from onboarding.journey import OnboardingInput
    from starter import parse_contract

    pb = playbook.for_segment("smb")
    data = OnboardingInput(contract=parse_contract((ROOT / "contracts" / "smb.json").read_text()), playbook=pb)
    snapshot = OnboardingInput.model_validate_json(data.model_dump_json())
    assert snapshot.playbook == pb and snapshot.playbook.phases[0].timers[0].after == pb.phases[0].timers[0].after


def test_validate_warns_of_touches_that_can_reach_one_person_at_one_moment() -> None:
    result = subprocess.run(
        [sys.executable, "admin.py", "playbook", "validate", "playbooks/mid_market.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        "playbooks/mid_market.yaml: warning: reactions.signed[0] and reactions.signed[1]: both email the champion "
        "on signed; the second waits 4h (pressure.window)"
    ) in result.stderr
