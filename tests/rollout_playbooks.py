"""Playbook versions for the rollout tests: the SMB playbook, and a v2 and a v3 written from it."""

from __future__ import annotations

from pathlib import Path

from onboarding import playbook
from onboarding.playbook import Playbook

SMB = playbook.PLAYBOOK_DIR / "smb.yaml"


def v2_text() -> str:
    """SMB v2: early_training renamed `training`, its nudge after 2 days instead of 4, the
    quick-start step renamed; the day-3 re-engagement gone."""
    text = SMB.read_text(encoding="utf-8")
    text = text.replace("early_training", "training")
    text = text.replace("id: quick_start\n        title", "id: guide\n        title")
    text = text.replace("id: training_nudge\n        after: 4d", "id: training_nudge\n        after: 2d")
    text = text.replace(
        "  - id: no_login_3d\n    after: 3d\n    since: signed\n    unless: [first_login]\n"
        "    send: {template: reengagement, to: champion}\n",
        "",
    )
    return text.replace(
        "title: SMB tech-touch\n",
        "title: SMB tech-touch\nlabel: smb-v2\n"
        "mapping:\n  phases: {early_training: training}\n  steps: {quick_start: guide}\n",
    )


def v3_text() -> str:
    """SMB v3: the early training phase removed with no word of where its onboardings go."""
    text = v2_text().replace("label: smb-v2", "label: smb-v3").replace("  phases: {early_training: training}\n", "")
    text = text.replace("steps: {quick_start: guide}", "steps: {quick_start: null, guide: null}")
    start = text.index("  - id: training\n    title")
    end = text.index("  - id: adoption_support")
    return text[:start] + text[end:]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load(text: str) -> Playbook:
    import yaml

    return playbook.parse(yaml.safe_load(text), "test")
