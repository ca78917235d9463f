"""A new user's first hour, run as they would: the README's commands, then docs/walkthrough.md.

Everything runs in a copy of the project (its .venv linked in), in terminals that start as
a new terminal does: no virtual environment active, none of the engine's variables set, only
free ports instead of 7233/8233/8000 (TEMPORAL_PORT, TEMPORAL_UI_PORT, TEMPORAL_ADDRESS and
INTAKE_PORT, so a developer's own stack is left alone). Each command runs in bash; what it changes in the
environment (`source .venv/bin/activate`, `export`) carries to the next command of the same
terminal, as in a real one. `bash scripts/up.sh` runs in its own terminal until the next
stack block (the reader's Ctrl-C) or the end. The walkthrough's console blocks are parsed by
tests/test_admin_walkthrough.py's `blocks`; `<!-- walkthrough: stack -->` marks a stack.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from onboarding import playbook
from tests.live_stack import ROOT, free_port, stop
from tests.test_admin_walkthrough import RETRY_SECONDS, Command, blocks, pattern

README = ROOT / "README.md"
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
COPY = shutil.ignore_patterns(".venv", ".git", ".local", "__pycache__", ".*_cache", "*.egg-info", "tests", "bench")
ENGINE_VARIABLES = ("TEMPORAL_", "INTAKE_", "DATABASE_", "OUTBOX_", "EMAIL_", "CSM_ID", "ONBOARDING_", "VIRTUAL_ENV")
READY = "Start an onboarding"


@dataclass
class Reader:
    """A person at a fresh clone: a project folder, free ports, and their terminals."""

    folder: Path
    port: int
    ui_port: int
    intake_port: int
    stack: subprocess.Popen[bytes] | None = None
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def new_terminal(self) -> dict[str, str]:
        """The environment of a terminal just opened: the login shell's, nothing of the project's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(ENGINE_VARIABLES) and k != "PYTHONPATH"}
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
        return env | {
            "TEMPORAL_PORT": str(self.port),
            "TEMPORAL_UI_PORT": str(self.ui_port),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}",
            "INTAKE_PORT": str(self.intake_port),
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, line: str, env: dict[str, str]) -> tuple[int, str, dict[str, str]]:
        """One command typed into a terminal: its exit code, what it printed, the terminal's environment after."""
        with tempfile.NamedTemporaryFile() as after:
            script = f'{line}\n__code=$?\nenv -0 > "{after.name}"\nexit $__code\n'
            result = subprocess.run(
                ["bash", "-c", script],
                cwd=self.folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=90,
            )
            pairs = [item.split("=", 1) for item in Path(after.name).read_text().split("\0") if "=" in item]
        output = "".join(line.rstrip() + "\n" for line in result.stdout.rstrip().splitlines())
        return result.returncode, output, {k: v for k, v in pairs if not k.startswith(("BASH_FUNC", "_"))}

    def start_stack(self, line: str) -> str:
        """`bash scripts/up.sh ...` in the stack's own terminal (the previous stack stopped with Ctrl-C)."""
        if self.stack is not None:
            stop(self.stack)
        log = self.folder / f"stack-{time.monotonic_ns()}.log"
        with log.open("wb") as out:
            self.stack = subprocess.Popen(
                ["bash", "-c", line],
                cwd=self.folder,
                env=self.new_terminal(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while READY not in log.read_text(errors="replace"):
            assert self.stack.poll() is None and time.monotonic() < deadline, f"$ {line}\n{log.read_text()}"
            time.sleep(0.2)
        return log.read_text()

    def in_background(self, line: str, env: dict[str, str]) -> None:
        log = (self.folder / f"background-{len(self.background)}.log").open("wb")
        self.background.append(subprocess.Popen(["bash", "-c", line], cwd=self.folder, env=env, stdout=log, stderr=log))

    def leave(self) -> None:
        for process in [*self.background, *([self.stack] if self.stack else [])]:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def reader() -> Iterator[Reader]:
    home = Path(tempfile.mkdtemp(prefix="onboarding-reader-"))
    folder = home / "project"
    shutil.copytree(ROOT, folder, ignore=COPY)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    person = Reader(folder, free_port(), free_port(), free_port())
    yield person
    person.leave()
    shutil.rmtree(home, ignore_errors=True)


# ---- the README ---------------------------------------------------------------------------------


def readme_commands() -> list[tuple[str, int]]:
    """The `Two commands` section's command lines, with the exit code a comment promises (else 0)."""
    text = README.read_text()
    section = text[text.index("## Two commands") :]
    section = section[: section.index("\n## ", 3)]
    found = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for raw in block.splitlines():
            line, _, comment = raw.partition("#")
            if line.strip():
                code = re.search(r"exit code (\d+)", comment)
                found.append((line.strip(), int(code[1]) if code else 0))
    return found


def follow_the_readme(reader: Reader) -> None:
    env = reader.new_terminal()
    for line, code in readme_commands():
        if line.startswith("bash scripts/up.sh"):
            reader.start_stack(line)
        elif line.startswith("bash scripts/test.sh"):
            continue  # the whole suite: what runs this test
        else:
            got, output, env = reader.run(line, env)
            assert got == code, f"README: $ {line}\nexit {got} (expected {code}):\n{output}"


# ---- the walkthrough ----------------------------------------------------------------------------


def check(reader: Reader, command: Command, options: str, env: dict[str, str], where: str) -> dict[str, str]:
    expected_code = int(options.removeprefix("exit ")) if options.startswith("exit ") else 0
    want = pattern(command.expected)
    deadline = time.monotonic() + (RETRY_SECONDS if options == "retry" else 0)
    while True:
        code, output, after = reader.run(command.line, env)
        if code == expected_code and want.fullmatch(output):
            return after
        if time.monotonic() > deadline:
            shown = "\n".join(command.expected)
            pytest.fail(f"{where}\nexit {code}, printed:\n{output}\nthe walkthrough shows:\n{shown}")
        time.sleep(0.5)


def follow_the_walkthrough(reader: Reader) -> int:
    env = reader.new_terminal()
    ran = 0
    for block in blocks(WALKTHROUGH.read_text()):
        for command in block.commands:
            where = f"docs/walkthrough.md:{block.where}: $ {command.line}"
            if block.options == "stack":
                printed = reader.start_stack(command.line)
                assert pattern(command.expected).match(printed), f"{where}\nprinted:\n{printed}"
            elif command.line.endswith("&"):
                reader.in_background(command.line.rstrip("&"), env)
            else:
                env = check(reader, command, block.options, env, where)
            ran += 1
    return ran


def test_the_readme_then_the_walkthrough_work_as_written_in_new_terminals(reader: Reader) -> None:
    follow_the_readme(reader)
    assert (reader.folder / ".local" / "onboarding.db").exists(), "the README's stack kept nothing"
    ran = follow_the_walkthrough(reader)
    assert ran >= 20, "the walkthrough lost its commands"
    assert list((reader.folder / ".local" / "set-aside").iterdir()), "--fresh did not keep the README's state"


def test_a_new_terminal_without_the_environment_cannot_run_the_admin_script(reader: Reader) -> None:
    """Why the walkthrough activates .venv first: a new terminal's python lacks the project's packages."""
    code, output, _ = reader.run("python admin.py --help", reader.new_terminal())
    if code == 0:
        pytest.skip("this machine's python has the project's packages installed globally")
    assert "ModuleNotFoundError" in output


# ---- the walkthrough playbook against production's ---------------------------------------------

SCALE = timedelta(seconds=5) / timedelta(days=1)
DEMO = "docs/walkthrough-smb.yaml"


def leaves_out() -> str:
    text = WALKTHROUGH.read_text()
    return text[text.index("## What the walkthrough playbook leaves out") :]


def test_the_walkthrough_playbook_differs_from_production_only_as_its_page_says() -> None:
    real = playbook.load(ROOT / "playbooks" / "smb.yaml")
    demo = playbook.load(ROOT / DEMO)
    listed = leaves_out()
    kept = {t.id: t for t in demo.all_timers()}
    for timer in real.all_timers():
        if timer.id in kept:
            assert kept[timer.id].after == timer.after * SCALE, f"{timer.id}: not production's time, scaled"
            assert kept[timer.id].unless == timer.unless and kept[timer.id].since == timer.since
        else:
            assert f"`{timer.id}`" in listed, f"timer {timer.id} is left out but the page does not say so"
    assert not set(kept) - {t.id for t in real.all_timers()}, "the walkthrough invents a timer"
    demo_steps = {s.id for p in demo.phases for s in p.steps}
    for step in (s for p in real.phases for s in p.steps):
        assert step.id in demo_steps or f"`{step.id}`" in listed, f"step {step.id} left out silently"
    for flag, rule in real.red_flags:
        if isinstance(rule, playbook.Escalate) and getattr(demo.red_flags, flag) is None:
            assert f"`{flag}`" in listed, f"red flag {flag} left out silently"
    real_yaml, demo_yaml = (yaml.safe_load((ROOT / f).read_text()) for f in ("playbooks/smb.yaml", DEMO))
    for key in set(real_yaml) - set(demo_yaml):
        assert f"`{key}`" in listed, f"{key} left out silently"
    for real_phase, demo_phase in zip(real_yaml["phases"], demo_yaml["phases"], strict=True):
        for key in set(real_phase) - set(demo_phase) - {"timers"}:
            assert f"`{key}`" in listed, f"{real_phase['id']}.{key} left out silently"
    assert [p.id for p in demo.phases] == [p.id for p in real.phases]
    for (trigger, ours), (_, theirs) in zip(demo.reactions, real.reactions, strict=True):
        scaled = tuple(r.model_copy(update={"after": r.after * SCALE}) for r in theirs)
        assert ours == scaled, f"reactions.{trigger}: not production's, with its delays scaled"
    assert demo.modules == real.modules
    assert demo.length == real.length * SCALE
    assert real.pressure and demo.pressure and demo.pressure.window == real.pressure.window * SCALE
    header = (ROOT / "docs" / "walkthrough-smb.yaml").read_text().split("segment:")[0]
    assert f"keeps {len(kept)} of its {len(list(real.all_timers()))} timers" in header
