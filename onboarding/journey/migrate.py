"""Moving an onboarding in flight onto another playbook version: its state mapped by id.

Phases, steps and modules are matched by id; the new playbook's `mapping` says where renamed
ids went and which were removed. An id the state holds that the new playbook neither has
nor maps is not guessed: `migrate` raises `ValueError` with the reason, naming the id and what to add.
Pure: the rollout's dry run, the workflow's validator and its handler all call it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from onboarding.journey.state import Progress
from onboarding.models import problems as field_problems
from onboarding.playbook import Playbook


def _renamer(
    what: str, known: set[str], renames: dict[str, str | None], problems: list[str]
) -> Callable[[str], str | None]:
    """A function old id -> new id (None: removed), noting ids it cannot place in `problems`."""

    def rename(old: str) -> str | None:
        if old in renames:
            return renames[old]
        if old in known:
            return old
        problem = f"{what} {old!r} is not in the new playbook; add it under mapping.{what}s (its new id, or null)"
        if problem not in problems:
            problems.append(problem)
        return None

    return rename


def migrate(progress: Progress, old: Playbook, new: Playbook) -> Progress:
    """The progress as it reads under `new`; `ValueError` with every reason when it cannot be mapped."""
    if old.segment != new.segment:
        raise ValueError(f"the new playbook is for {new.segment}, this onboarding follows the {old.segment} playbook")
    if progress.outcome != "active":
        raise ValueError(f"the onboarding has {progress.outcome}; a playbook change reaches onboardings in flight only")
    problems: list[str] = []
    phase_ids = [p.id for p in new.phases]
    current = old.phases[min(progress.phase_index, len(old.phases) - 1)].id
    phase_to = new.mapping.phases.get(current, current)
    if phase_to not in phase_ids:
        problems.append(
            f"the current phase {current!r} is not in the new playbook; add mapping.phases.{current}: <phase id>"
        )
    step = _renamer("step", {s.id for p in new.phases for s in p.steps}, new.mapping.steps, problems)
    module = _renamer("module", set(new.module_ids()), new.mapping.modules, problems)
    phase = _renamer("phase", set(phase_ids), dict(new.mapping.phases), problems)

    facts = {}
    for fact, at in progress.facts.items():
        kind, _, ident = fact.partition(":")
        rename = {"step": step, "module": module, "phase": phase}.get(kind)
        mapped = rename(ident) if rename else ident
        if mapped is not None:
            facts[f"{kind}:{mapped}" if rename else fact] = at
    for s in progress.scheduled:
        if s.index >= len(getattr(new.reactions, s.trigger)):
            waiting = f"a delayed {s.trigger} reaction (number {s.index + 1}) is waiting"
            problems.append(f"{waiting}; the new playbook lacks it")

    def steps(ids: list[str]) -> list[str]:
        return [m for m in map(step, ids) if m is not None]

    fired = {}
    for key, value in progress.fired.items():
        head, dot, rest = key.partition(".")
        fired[f"{phase(head) or head}.{rest}" if dot and head in {p.id for p in old.phases} else key] = value
    update = {
        "phase_index": phase_ids.index(phase_to) if phase_to in phase_ids else 0,
        "facts": facts,
        "skipped": steps(progress.skipped),
        "stuck": {m: why for s, why in progress.stuck.items() if (m := step(s))},
        "owners": {m: who for s, who in progress.owners.items() if (m := step(s))},
        "people": [p.model_copy(update={"steps": steps(p.steps)}) for p in progress.people],
        "fired": fired,
        "deadlines_hit": [m for m in map(phase, progress.deadlines_hit) if m],
    }
    if problems:
        raise ValueError("cannot map this onboarding onto the new playbook: " + "; ".join(problems))
    return progress.model_copy(update=update, deep=True)


def snapshot(data: dict[str, Any], version: str) -> Playbook:
    """The rolled-out snapshot, checked: it parses, and it is the version the sender named."""
    try:
        new = Playbook.model_validate(data)
    except ValidationError as e:
        raise ValueError("playbook: " + "; ".join(field_problems(e))) from None
    if new.version != version:
        raise ValueError(f"version: the snapshot is version {new.version}, not {version}")
    return new
