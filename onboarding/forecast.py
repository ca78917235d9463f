"""The rest of one journey on virtual time, and what a playbook change would change in it.

A rollout's dry run asks, for each onboarding in flight: if nothing else happens from now,
which emails go, which escalations open and when is it due, under the playbook it follows
and under the new one (its state mapped by id)? The pure journey answers in milliseconds,
so every onboarding is simulated, not sampled. After the real rollout the same forecast,
made again from the onboarding's new state, must equal what the dry run predicted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel

from onboarding.effects import EmailRequest, EscalationRequest
from onboarding.journey import Journey, OnboardingInput
from onboarding.journey.migrate import migrate
from onboarding.playbook import Playbook

HORIZON_AFTER_DUE = timedelta(days=30)
"""How far past the later due date a forecast looks (cadences would otherwise run forever)."""
MAX_STEPS = 5_000


class Happening(BaseModel):
    """One thing the journey does by itself: `email welcome to champion`, `escalation to csm (rule)`."""

    at: datetime
    what: str


class Forecast(BaseModel):
    version: str
    happenings: list[Happening]
    due_at: datetime
    end: str
    """Where the journey stands at the horizon: `completed on ...`, or the phase it waits in."""


class Change(BaseModel):
    sign: str
    """`+` added, `-` removed, `~` moved."""
    what: str
    before: datetime | None = None
    after: datetime | None = None


def forecast(state: OnboardingInput, now: datetime, until: datetime, new: Playbook | None = None) -> Forecast:
    """Let the clock run from `now` to `until` on a copy of the state, under `new` if given
    (the state mapped onto it; `ValueError` if it cannot be), else under the playbook followed."""
    assert state.progress is not None, "a running onboarding has progress"
    progress = state.progress.model_copy(deep=True)
    playbook = state.playbook
    if new is not None and new.version != playbook.version:
        progress, playbook = migrate(progress, playbook, new), new
    j = Journey(state.contract, playbook, progress)
    seen: list[Happening] = []
    at: datetime | None = now
    for _ in range(MAX_STEPS):
        if at is None or at > until:
            break
        for effect in j.tick(at):
            if isinstance(effect, EmailRequest):
                seen.append(Happening(at=at, what=f"email {effect.template} to {effect.to.role}"))
            elif isinstance(effect, EscalationRequest):
                seen.append(Happening(at=at, what=f"{effect.kind} to {effect.to} ({effect.rule})"))
        if not j.onboarding:
            break
        wake = j.next_wake(at)
        at = wake if wake is None or wake > at else at + timedelta(seconds=1)
    if j.p.completed_at:
        end = f"completed on {j.p.completed_at:%Y-%m-%d}"
    elif j.p.outcome == "cancelled":
        end = "cancelled"
    else:
        end = f"still in {j.phase.id}" + (", paused" if j.paused else "")
    return Forecast(version=playbook.version, happenings=seen, due_at=j.due_at(), end=end)


def horizon(state: OnboardingInput, new: Playbook, now: datetime) -> datetime:
    """The later due date of the two playbooks plus a month (and at least a month from now)."""
    signed = state.contract.signed_at or now
    due = signed + max(state.playbook.length, new.length)
    return max(due, now) + HORIZON_AFTER_DUE


def compare(old: Forecast, new: Forecast) -> list[Change]:
    """What the new forecast does differently: a touch at the same moment in both is unchanged; the
    rest of each kind pair up in order as moved, and what is left over is added or removed."""
    by_what: dict[str, tuple[list[datetime], list[datetime]]] = defaultdict(lambda: ([], []))
    for h in old.happenings:
        by_what[h.what][0].append(h.at)
    for h in new.happenings:
        by_what[h.what][1].append(h.at)
    changes: list[Change] = []
    for what, (before, after) in by_what.items():
        gone = [b for b in before if b not in after]  # same touch at the same moment: unchanged
        came = [a for a in after if a not in before]
        for i in range(max(len(gone), len(came))):
            b = gone[i] if i < len(gone) else None
            a = came[i] if i < len(came) else None
            changes.append(Change(sign="+" if b is None else "-" if a is None else "~", what=what, before=b, after=a))
    if old.due_at != new.due_at:
        changes.append(Change(sign="~", what="due date", before=old.due_at, after=new.due_at))
    if old.end != new.end:
        changes.append(Change(sign="~", what=f"at the horizon: {old.end} -> {new.end}"))
    return sorted(changes, key=lambda c: c.after or c.before or datetime.max.replace(tzinfo=old.due_at.tzinfo))


def day(at: datetime | None) -> str:
    return f"{at:%a %-d %b %Y}" if at else "-"


def describe(change: Change) -> str:
    """`+ Tue 3 Mar 2026  email nudge to champion`, `~ email x to champion: Mon 2 Mar -> Thu 5 Mar`."""
    if change.sign == "+":
        return f"  + {day(change.after)}  {change.what}"
    if change.sign == "-":
        return f"  - {day(change.before)}  {change.what}"
    moved = f": {day(change.before)} -> {day(change.after)}" if change.before or change.after else ""
    return f"  ~ {change.what}{moved}"
