"""Segment playbooks: what CS ops tune without code, loaded from playbooks/*.yaml and validated."""

from onboarding.playbook.model import (
    Deadline,
    Does,
    Mapping,
    Module,
    Offset,
    Phase,
    Playbook,
    ReactionRule,
    Reactions,
    Step,
    Timer,
)
from onboarding.playbook.settings import Criterion, Pressure
from onboarding.playbook.terms import ANCHORS, Escalate, Send, Task, parse_duration, text
from onboarding.playbook.validate import (
    ENGINE_TEMPLATES,
    PLAYBOOK_DIR,
    PlaybookError,
    collisions,
    for_segment,
    known_facts,
    load,
    parse,
    templates_of,
)

__all__ = [
    "ANCHORS",
    "ENGINE_TEMPLATES",
    "PLAYBOOK_DIR",
    "Criterion",
    "Deadline",
    "Does",
    "Escalate",
    "Mapping",
    "Module",
    "Offset",
    "Phase",
    "Playbook",
    "PlaybookError",
    "Pressure",
    "ReactionRule",
    "Reactions",
    "Send",
    "Step",
    "Task",
    "Timer",
    "collisions",
    "for_segment",
    "known_facts",
    "load",
    "parse",
    "parse_duration",
    "templates_of",
    "text",
]
