"""The commands a new user types first: the test script's quick part, the starter, the `onboarding` command."""

from __future__ import annotations

import re
import subprocess
import sys

from typer.testing import CliRunner

import admin
from reports.words import plural
from tests.live_stack import ROOT


def sh(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_quick_part_leaves_out_the_slow_tests_and_the_run_says_how_long_it_took() -> None:
    result = sh("bash scripts/test.sh --quick --collect-only -q tests/test_faults_worker.py tests/test_kpi.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/test_kpi.py::" in result.stdout and "test_faults_worker.py::" not in result.stdout
    assert "deselected" in result.stdout
    assert re.search(r"scripts/test\.sh: the tests took \d+ min \d+ s", result.stderr)


def test_the_readme_says_how_to_run_the_quick_part_and_names_every_slow_test() -> None:
    readme = (ROOT / "README.md").read_text()
    tests = readme[readme.index("## Tests") :]
    assert "bash scripts/test.sh --quick" in tests and '-m "not slow"' in tests
    assert "ends by saying how long the run" in tests
    slow = sorted(
        p.name
        for p in (ROOT / "tests").glob("test_*.py")
        if re.search(r"^pytestmark = .*pytest\.mark\.slow|^@pytest\.mark\.slow", p.read_text(), re.M)
    )
    for name in slow:
        assert name in tests or (name.startswith("test_faults_") and "tests/test_faults_*.py" in tests), name


def test_the_starter_speaks_typer_like_the_admin_script() -> None:
    result = subprocess.run(
        [sys.executable, "starter.py", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert "Usage: python starter.py [OPTIONS] {CONTRACT.json}" in result.stdout
    assert "--playbook" in result.stdout
    serve = subprocess.run(
        [sys.executable, "starter.py", "serve", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "Usage: python starter.py serve [OPTIONS]" in serve.stdout and "INTAKE_PORT" in serve.stdout
    missing = subprocess.run([sys.executable, "starter.py"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "Missing argument 'CONTRACT.json'" in missing.stderr


def test_the_setup_installs_an_onboarding_command() -> None:
    result = sh("source .venv/bin/activate && onboarding --help")
    assert result.returncode == 0, result.stderr
    assert "Usage: onboarding [OPTIONS] COMMAND" in result.stdout
    assert "status" in result.stdout and "timeline" in result.stdout


def test_counts_read_right_with_one() -> None:
    one = ROOT / "docs" / "walkthrough-smb.yaml"
    result = CliRunner().invoke(admin.app, ["playbook", "validate", str(one)])
    assert result.exit_code == 0, result.output
    assert "4 phases, 3 timers)" in result.output
    assert [plural(1, "run"), plural(2, "run"), plural(1, "person", "people"), plural(3, "person", "people")] == [
        "1 run",
        "2 runs",
        "1 person",
        "3 people",
    ]
