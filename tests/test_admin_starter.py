"""`python starter.py --playbook FILE`: a trial or compressed playbook for one start, checked first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.live_stack import ROOT


def starter(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "starter.py", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_playbook_for_another_segment_is_refused() -> None:
    result = starter("--playbook", "docs/walkthrough-smb.yaml", "contracts/enterprise.json")
    assert result.returncode == 2
    assert result.stderr == (
        "contract refused:\ndocs/walkthrough-smb.yaml: a playbook for smb, but the contract's segment is enterprise\n"
    )


def test_a_broken_playbook_is_refused_naming_the_file_and_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "smb.yaml"
    text = (ROOT / "docs" / "walkthrough-smb.yaml").read_text().replace("after: 5s", "after: soon")
    broken.write_text(text)
    result = starter("--playbook", str(broken), "contracts/smb.json")
    assert result.returncode == 2
    assert result.stderr.startswith(f"contract refused:\n{broken}: timers[0].after: ")
    assert "expected a duration like '24h', '3d' or '2w', got 'soon'" in result.stderr
