"""The `onboarding` command the set-up installs: `onboarding status ACCOUNT` is `python admin.py status ACCOUNT`."""

from __future__ import annotations

from admin import app
from cli.shutdown import exit_after


def main() -> None:
    exit_after(app)
