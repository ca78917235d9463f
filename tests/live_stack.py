"""A real local stack for the tests that drive what CSMs and ops touch: `python stack.py`, as users run it.

It runs on free ports with a throwaway database and outbox, from a private copy of the
project: stack.py keeps the server's state in the project's .local/, and the copy keeps a
developer's own stack (and its onboardings) out of the tests' way. One stack serves the
whole test session; it stops (SIGINT, as Ctrl-C) when the session ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import Session, select

from adapters.db import TimelineEvent, engine

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class LiveStack:
    port: int
    ui_port: int
    home: Path
    intake_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def intake_url(self) -> str:
        """The intake and the customer portal (stack.py serves them beside the worker)."""
        return f"http://127.0.0.1:{self.intake_port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'onboarding.db'}"

    @property
    def env(self) -> dict[str, str]:
        """The environment every command in the tests runs with: this stack, nothing of the developer's."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "INTAKE_", "DATABASE_"))}
        return base | {
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_UI_URL": self.ui_url,
            "DATABASE_URL": self.database_url,
            "OUTBOX_DIR": str(self.home / "outbox"),
            "EMAIL_BACKEND": "outbox",
            "CSM_ID": "csm-leo",
            "PORTAL_URL": f"{self.intake_url}/portal",
            "PYTHONUNBUFFERED": "1",
        }

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point in-process code (the admin script under CliRunner, the intake app) at this stack."""
        for key in [k for k in os.environ if k.startswith(("TEMPORAL_", "INTAKE_"))]:
            monkeypatch.delenv(key)
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)

    def begin(self, segment: str = "smb", **changes: object) -> str:
        """Sign the segment's example contract for a new account and start it; returns the account id."""
        data = json.loads((ROOT / "contracts" / f"{segment}.json").read_text())
        data.update(account_id=f"{segment.replace('_', '-')}-{uuid.uuid4().hex[:8]}", **changes)
        path = self.home / f"{data['account_id']}.json"
        path.write_text(json.dumps(data))
        result = self.sh(f"python starter.py {path}")
        assert result.returncode == 0, result.stderr
        self.wait_for_timeline(data["account_id"])
        return str(data["account_id"])

    def wait_for_timeline(self, account_id: str, seconds: float = 15) -> None:
        """Until the onboarding's first timeline entry is recorded: the team is assigned by then.

        (An escalating event before the assignment finishes is a known engine problem; tests
        act on an onboarding once it is under way, as a CSM would.)
        """
        deadline = time.monotonic() + seconds
        with Session(engine(self.database_url)) as db:
            query = select(TimelineEvent.id).where(TimelineEvent.account_id == account_id)
            while db.exec(query).first() is None:
                assert time.monotonic() < deadline, f"{account_id}: nothing recorded after {seconds:.0f}s"
                time.sleep(0.1)

    def sh(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run one shell command line from the project root, as a user would type it."""
        return subprocess.run(
            command, shell=True, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )


_stack: LiveStack | None = None
READY = "Start an onboarding"
SOURCES = shutil.ignore_patterns(
    ".venv", ".git", ".local", "__pycache__", ".*_cache", "*.egg-info", "tests", "docs", "bench"
)


def start() -> LiveStack:
    """`python stack.py --port P --ui-port U`, ready once it says the worker runs."""
    home = Path(tempfile.mkdtemp(prefix="onboarding-live-"))
    shutil.copytree(ROOT, home / "project", ignore=SOURCES)
    port, ui_port, intake_port = free_port(), free_port(), free_port()
    log = home / "stack.log"
    live = LiveStack(port, ui_port, home, intake_port)
    with log.open("wb") as out:
        live.process = process = subprocess.Popen(
            [
                sys.executable,
                "stack.py",
                "--port",
                str(port),
                "--ui-port",
                str(ui_port),
                "--intake-port",
                str(intake_port),
            ],
            cwd=home / "project",
            env=live.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while READY not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(f"python stack.py did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return live


def shutdown(live: LiveStack) -> None:
    if live.process:
        stop(live.process)
    shutil.rmtree(live.home, ignore_errors=True)


@pytest.fixture(scope="session")
def live() -> Iterator[LiveStack]:
    """The session's live stack, started by the first test that needs it.

    Test modules import this fixture, and pytest keeps one fixture per module; the module
    level `_stack` makes them all share one server, stopped when the session ends.
    """
    global _stack
    if _stack is None:
        _stack = start()
    yield _stack
    if _stack is not None:
        shutdown(_stack)
        _stack = None
