"""Whether a CSM action can be applied now, and if not, the reason a person reads.

The same function answers the workflow's update validator and, again, its handler: a
message that was valid when validated but is no longer (two resumes in one workflow task,
a success racing a cancel) is refused with its reason, never asserted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from difflib import get_close_matches
from typing import TYPE_CHECKING

from onboarding.journey.migrate import migrate, snapshot
from onboarding.messages import (
    ApplyPlaybook,
    ApproveInvite,
    Cancel,
    ClaimEscalation,
    CompleteStep,
    EmailFeedback,
    HandStep,
    Invite,
    KickoffDone,
    MarkStuck,
    Message,
    ModuleCompleted,
    Pause,
    ProductEvent,
    Reassign,
    RequestPause,
    ResolveEscalation,
    Resume,
    ScheduleKickoff,
    SkipStep,
    StepAction,
)

CUSTOMER_ACTIONS = (CompleteStep, SkipStep, MarkStuck, Invite, HandStep, RequestPause)
"""What a person on the customer's side may do on their plan."""

if TYPE_CHECKING:
    from onboarding.journey.where import Where


class Refused(ValueError):
    """A message the journey cannot apply now; the message is the reason, in a CSM's words."""


def unknown(what: str, value: str, known: Iterable[str]) -> str:
    """ "unknown step 'sso_setup'; this playbook's steps: log_in, sso; did you mean 'sso'?"."""
    options = list(known)
    close = get_close_matches(value, options, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {value!r}; this playbook's {what}s: {', '.join(options) or 'none'}{hint}"


def refusal(j: Where, m: Message, now: datetime) -> str | None:
    """Why `m` cannot be applied to this journey at `now`; None when it can."""
    if isinstance(m, ProductEvent | EmailFeedback):
        return None  # facts are recorded whatever the state; they never jam anything
    if j.p.outcome == "cancelled":
        return "the onboarding is already cancelled" if isinstance(m, Cancel) else "the onboarding is cancelled"
    if m.customer is not None:
        if not isinstance(m, CUSTOMER_ACTIONS):
            return "only the CSM can do this"
        if not _on_plan(j, m.customer):
            return "this person is not on this onboarding's plan"
    if isinstance(m, Cancel):
        return None
    if isinstance(m, Reassign):
        current = j.p.team.csm.id if j.p.team else None
        return f"{m.owner} already owns this onboarding" if current == m.owner else None
    if isinstance(m, ResolveEscalation | ClaimEscalation):
        open_ = {e.id: e for e in j.open_escalations()}
        if m.escalation not in open_:
            return f"no open escalation {m.escalation!r}; open: {', '.join(open_) or 'none'}"
        if isinstance(m, ClaimEscalation) and open_[m.escalation].claimed_by == m.by:
            return f"{m.by} has already claimed {m.escalation!r}"
        return None
    if isinstance(m, ApproveInvite) and not any(i.email == m.email for i in j.p.held_invites):
        return "no invitation waits for approval for that address"
    if j.p.completed_at:
        return f"the onboarding is already complete (since {j.p.completed_at:%Y-%m-%d})"
    return _onboarding_refusal(j, m, now)


def _onboarding_refusal(j: Where, m: Message, now: datetime) -> str | None:
    if isinstance(m, ApplyPlaybook):
        return _rollout_refusal(j, m)
    if isinstance(m, KickoffDone) and j.has("kickoff_done"):
        return f"kickoff is already recorded as done (on {j.p.facts['kickoff_done']:%Y-%m-%d})"
    if isinstance(m, ModuleCompleted):
        modules = j.playbook.module_ids()
        if m.module not in modules:
            return unknown("module", m.module, modules)
        if j.has(f"module:{m.module}"):
            return f"module {m.module!r} is already completed"
    if isinstance(m, StepAction):
        return _step_refusal(j, m)
    if isinstance(m, Pause | RequestPause):
        if j.paused:
            return "the onboarding is already paused; resume it first"
        if m.until and m.until <= now:
            return "until: expected a time in the future"
    if isinstance(m, ScheduleKickoff):
        if j.p.team is None:
            return "nobody is assigned to this onboarding yet: the kickoff needs its CSM; try again once assigned"
        if j.has("kickoff_done"):
            return "the kickoff is already done"
        if m.at <= now:
            return "at: expected a time in the future for the kickoff"
    if isinstance(m, Resume) and not j.paused:
        return "the onboarding is not paused"
    return None


def _rollout_refusal(j: Where, m: ApplyPlaybook) -> str | None:
    """A snapshot that does not parse, is not the version named, or cannot be mapped; the
    version the onboarding already follows is no refusal (applying it again changes nothing)."""
    try:
        new = snapshot(m.playbook, m.version)
        if new.version != j.playbook.version:
            migrate(j.p, j.playbook, new)
    except ValueError as e:
        return str(e)
    return None


def _step_refusal(j: Where, m: StepAction) -> str | None:
    step = j.playbook.step(m.step)
    if step is None:
        return unknown("step", m.step, [s.id for p in j.playbook.phases for s in p.steps])
    if j.step_done(step):
        return f"step {m.step!r} is already done"
    if isinstance(m, SkipStep):
        if not step.skippable:
            return f"step {m.step!r} cannot be skipped"
        if m.step in j.p.skipped:
            return f"step {m.step!r} is already skipped; it can still be done later"
    if isinstance(m, CompleteStep) and m.customer and not step.confirmable:
        return f"step {m.step!r} is done in the product itself; it shows as done once it happens"
    if isinstance(m, MarkStuck) and j.p.stuck.get(m.step):
        return f"step {m.step!r} is already marked stuck; the CSM has been told"
    if isinstance(m, HandStep):
        if not _on_plan(j, m.to):
            return "to: that address is not on this onboarding's plan; invite them to the step instead"
        if j.p.owners.get(m.step) == m.to:
            return f"step {m.step!r} is already theirs"
    return None


def _on_plan(j: Where, email: str) -> bool:
    people = {c.email for c in j.contract.contacts} | {c.email for c in j.p.contacts.values()}
    return email.lower() in people | {p.email for p in j.p.people}
