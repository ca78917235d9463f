"""`python admin.py simulate`: the command CS ops run, as a real process on a real test server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from adapters.email.render import available
from onboarding import playbook
from simulator import scenario
from simulator.run import Simulator

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
KINDS = {
    "email",
    "escalation",
    "task",
    "phase",
    "health",
    "paused",
    "resumed",
    "completed",
    "cancelled",
    "rejected",
    "deferred",
    "merged",
}
ROLES = {
    "champion", "billing", "it_admin", "legal", "end_user", "office_manager", "colleague",
    "csm", "implementation_specialist", "cs_manager", "sales_rep",
}  # fmt: skip


def simulate(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "admin.py", "simulate", *map(str, args)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def smb_playbook(tmp_path: Path, change: dict[str, object], name: str = "trial.yaml") -> Path:
    """The SMB playbook with some of its self-serve setup timers changed (by id; None removes one)."""
    data = yaml.safe_load((playbook.PLAYBOOK_DIR / "smb.yaml").read_text())
    timers = data["phases"][0]["timers"]
    for timer_id, new in change.items():
        index = next(i for i, t in enumerate(timers) if t["id"] == timer_id)
        if new is None:
            del timers[index]
        else:
            timers[index] = new
    return write(tmp_path / name, yaml.safe_dump(data))


def test_json_is_one_object_in_the_documented_format(tmp_path: Path) -> None:
    journey = write(
        tmp_path / "journey.yaml",
        "actions:\n"
        "  - {day: 0.5, action: log_touch, args: {touch: personal_welcome}}\n"
        "  - {day: 2, action: module_completed, args: {module: advanced_reporting}}\n"
        "  - {day: 4, action: first_login}\n",
    )
    done = simulate("--segment", "smb", "--scenario", journey, "--days", "8.5", "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"segment", "outcome", "days_to_first_value", "history_events", "timeline"}
    assert (out["segment"], out["outcome"], out["days_to_first_value"]) == ("smb", "active", None)
    assert isinstance(out["history_events"], int) and out["history_events"] > 20
    for entry in out["timeline"]:
        assert set(entry) == {"day", "kind", "name", "to", "detail"}
        assert entry["kind"] in KINDS and (entry["to"] is None or entry["to"] in ROLES)
        assert 0 <= entry["day"] <= 8.5
    assert [e["day"] for e in out["timeline"]] == sorted(e["day"] for e in out["timeline"])
    lines = [(e["day"], e["kind"], e["name"], e["to"]) for e in out["timeline"] if e["kind"] != "health"]
    assert lines == [
        (0, "phase", "self_serve_setup", None),
        (0, "email", "welcome", "champion"),
        (1, "email", "setup_day1", "champion"),
        (2, "rejected", "module_completed", None),
        (3, "email", "reengagement", "champion"),  # not logged in: no setup email beside it
        (4, "phase", "early_training", None),  # within a day: phases, then escalations, then emails
        (4, "deferred", "quick_start_guide", "champion"),  # one email per 12 hours (pressure.window)
        (4, "email", "milestone_celebration", "champion"),
        (4.5, "email", "quick_start_guide", "champion"),
        (8, "email", "reengagement", "champion"),
    ]
    refusal = next(e for e in out["timeline"] if e["kind"] == "rejected")
    assert (
        refusal["detail"]
        == "unknown module 'advanced_reporting'; this playbook's modules: quick_start, feature_highlights"
    )


def test_readable_timeline_and_summary() -> None:
    done = simulate("--scenario", SCENARIOS / "smb" / "survey_goal_reached.yaml")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("SMB tech-touch (smb), scenario survey_goal_reached: 60 days from signing on ")
    welcome = next(line for line in out.splitlines() if "welcome:" in line)
    assert welcome.split()[0] == "0.00" and "champion" in welcome
    assert "» first_login" in out and "» module_completed (quick_start)" in out
    assert "outcome          completed; time to first value 31 days" in out
    # 14 emails to the customer; the personal welcome is the one human touch; the plan ran a day past its
    # 30 days when the survey was answered (an escalation, closed by the success), the hand-over notes the
    # ongoing CSM.
    assert "touches          14 automated to the customer, 1 by people; automation rate 93%" in out
    assert "team notices     2 emails to the CS team" in out
    assert "escalations      1: overdue to csm (day 31)" in out
    assert out.rstrip().endswith("Expectations: met")


def test_errors_at_the_edge_name_the_entry_and_exit_2(tmp_path: Path) -> None:
    typo = write(
        tmp_path / "typo.yaml", "actions:\n  - {day: 1, action: first_login}\n  - {day: 2, action: frist_login}\n"
    )
    done = simulate("--segment", "smb", "--scenario", typo)
    assert done.returncode == 2
    assert f"{typo}:3: actions[1].action: unknown action 'frist_login'" in done.stderr

    late = write(tmp_path / "late.yaml", "actions:\n  - {day: 70, action: first_login}\n")
    done = simulate("--segment", "smb", "--scenario", late)
    assert done.returncode == 2
    assert f"{late}: actions[0] (line 2): day 70 is after the end of the run (day 60)" in done.stderr

    done = simulate("--segment", "smb", "--scenario", write(tmp_path / "broken.yaml", "actions: [\n"))
    assert done.returncode == 2 and "broken.yaml:2:1: does not parse as YAML or JSON" in done.stderr

    done = simulate("--segment", "smb", "--frobnicate")
    assert done.returncode == 2 and "No such option: --frobnicate" in done.stderr

    done = simulate("--segment", "smb", "--scenario", SCENARIOS / "enterprise" / "silent_customer.yaml")
    assert done.returncode == 2 and "the segments disagree: --segment says smb" in done.stderr


def test_a_template_that_does_not_render_fails_the_simulation(tmp_path: Path) -> None:
    # module_completed needs the module's title, which only a completed module supplies.
    broken = smb_playbook(
        tmp_path,
        {
            "day1": {
                "id": "day1",
                "after": "1d",
                "since": "signed",
                "send": {"template": "module_completed", "to": "champion"},
            }
        },
    )
    done = simulate("--playbook", broken, "--json")
    assert done.returncode == 1
    assert "simulation failed: day 1: template 'module_completed' (to champion) does not render:" in done.stderr
    assert "'module_title' is undefined" in done.stderr
    assert done.stdout == ""


def test_compare_shows_what_a_playbook_change_does(tmp_path: Path) -> None:
    trial = smb_playbook(
        tmp_path,
        {
            "day3": {
                "id": "day3",
                "after": "2d",
                "since": "signed",
                "send": {"template": "setup_day3", "to": "champion"},
            },
            "day1": None,
        },
    )
    done = simulate("--segment", "smb", "--days", "9", "--compare", trial, "--json")
    assert done.returncode == 0, done.stderr
    differences = json.loads(done.stdout)["differences"]
    assert differences["outcome"] is None and differences["days_to_first_value"] is None
    touches = differences["touches"]  # production's day-3 email waits for a login; the trial's does not
    assert [(e["day"], e["name"], e["to"]) for e in touches["added"]] == [(2.0, "setup_day3", "champion")]
    assert [(e["day"], e["name"], e["to"]) for e in touches["removed"]] == [(1.0, "setup_day1", "champion")]
    assert touches["moved"] == []
    assert differences["escalations"] == {"added": [], "removed": [], "moved": []}

    done = simulate("--segment", "smb", "--days", "9", "--compare", trial)
    assert done.returncode == 0, done.stderr
    assert "touch added      day 2: setup_day3 to champion" in done.stdout
    assert "touch removed    day 1: setup_day1 to champion" in done.stdout
    assert "outcome          active -> active (same)" in done.stdout


def test_batch_prints_one_line_per_scenario_and_a_verdict(tmp_path: Path) -> None:
    folder = tmp_path / "suite"
    (folder / "smb").mkdir(parents=True)
    good = (SCENARIOS / "smb" / "personal_welcome_late.yaml").read_text()
    write(folder / "smb" / "late_welcome.yaml", good)
    write(
        folder / "smb" / "wrong_day.yaml",
        good.replace("[1, email, setup_day1, champion]", "[2, email, setup_day1, champion]"),
    )
    write(folder / "typo.yaml", "segment: smb\nactions:\n  - {day: 1, action: frist_login}\n")
    write(folder / "notes.txt", "not a scenario")

    done = simulate("--batch", folder)
    lines = done.stdout.splitlines()
    assert done.returncode == 2  # one scenario was refused
    assert lines[0].startswith("smb/late_welcome.yaml") and lines[0].endswith("expect ok")
    assert lines[1].startswith("smb/wrong_day.yaml") and lines[1].endswith("EXPECT FAILED (2)")
    assert lines[2:4] == [
        "    missing: day 2 email setup_day1 to champion",
        "    unexpected: day 1 email setup_day1 to champion",
    ]
    assert lines[4].startswith("typo.yaml") and "REFUSED" in lines[4] and "unknown action 'frist_login'" in lines[4]
    assert lines[5].startswith("3 scenarios in ") and lines[5].endswith("1 ok, 1 failed, 1 refused")


async def test_a_full_enterprise_journey_takes_seconds_and_runs_the_same_every_time() -> None:
    path = SCENARIOS / "enterprise" / "full_journey.yaml"
    plan = playbook.for_segment("enterprise", available())
    async with Simulator() as sim:
        started = time.monotonic()
        first = await sim.simulate(scenario.load(path), plan)
        took = time.monotonic() - started
        again = await sim.simulate(scenario.load(path), plan)
    assert first.days == 150 and first.outcome == "completed"
    assert took < 30, f"a 150-day enterprise journey took {took:.1f} s"
    # The timeline is the same every time; the history's length may differ by a workflow task or two.
    assert first.to_json()["timeline"] == again.to_json()["timeline"]
    assert abs(first.history_events - again.history_events) < 10
