"""A second `python stack.py` (what scripts/up.sh runs) refuses at once and leaves nothing running."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.live_stack import ROOT, SOURCES, LiveStack, free_port, live  # noqa: F401 (the fixture)


def processes_under(folder: Path) -> list[str]:
    """Command lines of the processes running in (or naming) this folder."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((proc / "cwd").readlink())
        except OSError:
            continue
        if str(folder) in line or cwd.startswith(str(folder)):
            found.append(line)
    return found


def second_stack(
    folder: Path, port: int, ui_port: int, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "stack.py", "--port", str(port), "--ui-port", str(ui_port), "--intake-port", str(free_port())],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - began


def test_a_second_stack_from_the_same_folder_is_refused_naming_the_running_one(live: LiveStack) -> None:  # noqa: F811
    folder = live.home / "project"
    result, took = second_stack(folder, free_port(), free_port(), live.env)
    assert result.returncode == 1
    assert took < 10, "refused only after starting things"
    assert "a stack is already running from this folder" in result.stderr
    assert f"Temporal on port {live.port}" in result.stderr
    assert f"Web UI http://localhost:{live.ui_port}" in result.stderr
    assert "Nothing was started." in result.stderr
    assert "Temporal Web UI" not in result.stdout, "printed the banner of a stack that does not run"
    assert len([p for p in processes_under(folder) if "stack.py" in p]) == 1, "a second stack is still running"
    assert live.process is not None and live.process.poll() is None, "the first stack stopped"


def test_a_stack_whose_port_is_taken_is_refused_naming_the_port(live: LiveStack, tmp_path: Path) -> None:  # noqa: F811
    folder = tmp_path / "project"
    shutil.copytree(ROOT, folder, ignore=SOURCES)
    result, took = second_stack(folder, live.port, free_port(), live.env)
    assert result.returncode == 1
    assert took < 10
    assert f"port {live.port} (the Temporal server's) is already in use" in result.stderr
    assert "TEMPORAL_PORT=<port> bash scripts/up.sh" in result.stderr
    assert processes_under(folder) == [], "the refused stack left something running"
    assert not (folder / ".local" / "temporal.db").exists(), "the refused stack created state"
