"""How docs/walkthrough.md is read: its console blocks, their options, the matcher of their output.

tests/test_first_hour_walkthrough.py runs it, after the README, as a new user would. The
walkthrough's ```console blocks hold `$ command` lines, each followed by the output it
prints. A line `...` stands for any number of lines and `...` inside a line for any text
(times, ids). An HTML comment just before a block tunes how it runs:

    <!-- walkthrough: stack -->     the stack, in its own terminal (the previous one stopped first)
    <!-- walkthrough: retry -->     the output appears a little later: retry until it matches
    <!-- walkthrough: exit 1 -->    the command must fail with this code

Commands run in bash from the project root; what a command changes in the environment
(`source`, `export`) holds for the commands after it; a command ending in `&` runs in the
background until the test ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.live_stack import ROOT

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
