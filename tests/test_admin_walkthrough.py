"""docs/walkthrough.md, run: every command in it, against a fresh local stack, output checked.

The walkthrough's ```console blocks hold `$ command` lines, each followed by the output it
prints. A line `...` stands for any number of lines and `...` inside a line for any text
(times, ids). An HTML comment just before a block tunes how it runs:

    <!-- walkthrough: fixture -->   the test started this already (python stack.py, on free ports)
    <!-- walkthrough: retry -->     the output appears a little later: retry until it matches
    <!-- walkthrough: exit 1 -->    the command must fail with this code

Commands run in bash from the project root; `export NAME=value` lines set the environment of
the commands after them; a command ending in `&` runs in the background until the test ends.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import live_stack
from tests.live_stack import ROOT, LiveStack

WALKTHROUGH = ROOT / "docs" / "walkthrough.md"
OPTIONS = re.compile(r"^<!-- walkthrough: (.+) -->$")
RETRY_SECONDS = 45


@dataclass
class Command:
    line: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    where: int
    options: str
    commands: list[Command]


def blocks(text: str) -> list[Block]:
    found, options, lines = [], "", text.splitlines()
    i = 0
    while i < len(lines):
        if m := OPTIONS.match(lines[i]):
            options = m[1]
        elif lines[i].startswith("```console"):
            start, commands = i + 1, []
            i += 1
            while not lines[i].startswith("```"):
                if lines[i].startswith("$ "):
                    commands.append(Command(lines[i][2:]))
                else:
                    commands[-1].expected.append(lines[i].rstrip())
                i += 1
            found.append(Block(start, options, commands))
            options = ""
        elif lines[i].strip():
            options = ""
        i += 1
    return found


def pattern(expected: list[str]) -> re.Pattern[str]:
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece) for piece in line.split("...")) + r"[ \t]*\n")
    return re.compile("".join(parts))


@pytest.fixture
def stack() -> Iterator[LiveStack]:
    """A fresh stack, as a new user's: `python stack.py` (on free ports)."""
    live = live_stack.start()
    yield live
    live_stack.shutdown(live)


def test_the_walkthrough_runs_as_written(stack: LiveStack) -> None:
    env = stack.env | {"TEMPORAL_UI_URL": "http://localhost:8233", "INTAKE_PORT": str(stack.intake_port)}
    del env["CSM_ID"]  # the walkthrough says who acts
    background: list[subprocess.Popen[bytes]] = []
    ran = 0
    try:
        for block in blocks(WALKTHROUGH.read_text()):
            if block.options == "fixture":
                continue
            for command in block.commands:
                where = f"docs/walkthrough.md:{block.where}: $ {command.line}"
                if command.line.startswith("export "):
                    name, _, value = command.line.removeprefix("export ").partition("=")
                    env[name] = shlex.split(value)[0]
                elif command.line.endswith("&"):
                    log = (stack.home / f"background-{len(background)}.log").open("wb")
                    background.append(
                        subprocess.Popen(
                            ["bash", "-c", command.line.rstrip("&")], cwd=ROOT, env=env, stdout=log, stderr=log
                        )
                    )
                else:
                    run(command, block.options, env, where)
                ran += 1
    finally:
        for process in background:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=15)
    assert ran >= 20, "the walkthrough lost its commands"


def run(command: Command, options: str, env: dict[str, str], where: str) -> None:
    expected_code = int(options.removeprefix("exit ")) if options.startswith("exit ") else 0
    want = pattern(command.expected)
    deadline = time.monotonic() + (RETRY_SECONDS if options == "retry" else 0)
    while True:
        result = subprocess.run(
            ["bash", "-c", command.line],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
        )
        output = "".join(line.rstrip() + "\n" for line in result.stdout.rstrip().splitlines())
        if result.returncode == expected_code and want.fullmatch(output):
            return
        if time.monotonic() > deadline:
            expected = "\n".join(command.expected)
            pytest.fail(f"{where}\nexit {result.returncode}, printed:\n{output}\nthe walkthrough shows:\n{expected}")
        time.sleep(0.5)


def test_the_matcher_treats_dots_as_any_text_and_any_lines() -> None:
    shown = ["started ...", "...", "done in ... s"]
    assert pattern(shown).fullmatch("started onboarding-x (smb)\nline\nline\ndone in 3 s\n")
    assert pattern(shown).fullmatch("started x\ndone in 3 s\n")
    assert not pattern(shown).fullmatch("started x\ndone\n")
    assert not pattern(["exact"]).fullmatch("exactly\n")


def test_the_walkthrough_has_no_command_outside_a_checked_block() -> None:
    text = WALKTHROUGH.read_text()
    in_console = sum(len(b.commands) for b in blocks(text))
    assert in_console == sum(1 for line in text.splitlines() if line.startswith("$ "))
    assert not re.search(r"^```(?:bash|sh|shell)$", text, re.M), "commands belong in ```console blocks"
    assert Path(ROOT / "docs" / "walkthrough-smb.yaml").exists()
