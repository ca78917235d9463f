"""How a journey looks to people: its status, the run's current details, an email's context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.journey.state import snapshot_version
from onboarding.journey.where import Where, describe
from onboarding.models import OpenEscalation, State, Status
from onboarding.playbook import text


def when(at: datetime | None) -> str:
    """'Tue 3 Mar 09:00 UTC': a day and a time, as ops read it in the Web UI."""
    return f"{at:%a %-d %b %H:%M} UTC" if at else "-"


def state(j: Where) -> State:
    if j.p.outcome != "active":
        return j.p.outcome
    return "paused" if j.paused else "active"


def phase_now(j: Where) -> str:
    """The phase id while onboarding, else the outcome ('completed', 'cancelled')."""
    return j.phase.id if j.onboarding else j.p.outcome


def status(j: Where, now: datetime) -> Status:
    done, pending, skipped = j.steps()
    health, reason = j.health(now)
    nxt = j.next_due()[:1]
    return Status(
        account_id=j.contract.account_id,
        company=j.contract.company,
        segment=j.playbook.segment,
        state=state(j),
        phase=phase_now(j),
        phase_title=j.title(j.phase.title),
        steps_done=done,
        steps_pending=pending,
        steps_skipped=skipped,
        modules_done=j.modules_done(),
        next_action=describe(nxt[0].timer) if nxt else None,
        next_action_at=nxt[0].at if nxt else None,
        health=health,
        health_reason=reason,
        open_escalations=[
            OpenEscalation(
                id=e.id,
                reason=e.reason,
                to=e.to,
                assignee=e.assignee,
                opened_at=e.opened_at,
                kind=e.kind,
                due_at=e.due_at,
            )
            for e in j.open_escalations()
        ],
        days_since_last_activity=round(j.inactive_for(now).total_seconds() / 86400, 2),
        last_activity_at=j.p.last_activity_at if j.p.last_activity_at > j.signed_at else None,
        paused_until=j.p.paused_until,
        owner=owner(j),
        signed_at=j.signed_at,
        due_at=j.due_at(),
        completed_at=j.p.completed_at,
        days_to_first_value=j.days_to_first_value(),
        playbook=snapshot_version(j.playbook),
        variant=j.playbook.variant or ("control" if j.playbook.variants else None),
    )


def owner(j: Where) -> str:
    return j.p.team.csm.id if j.p.team else "unassigned"


def details(j: Where, now: datetime) -> str:
    """What the run waits for and what it does next, for the Web UI's current details."""
    if j.p.outcome == "cancelled":
        return "Cancelled. Nothing more is sent."
    if j.p.outcome == "completed":
        return f"Onboarding complete. Next check-in {when(j.next_check_in())}."
    if not j.p.signed_in:
        return "Assigning the team"
    if j.paused:
        until = f" until {when(j.p.paused_until)}" if j.p.paused_until else ""
        return f"Paused{until}. Nudges and escalations wait; deadlines move by the paused time."
    phase = f"{j.title(j.phase.title)} (phase {j.p.phase_index + 1} of {len(j.playbook.phases)})"
    waits = j.phase_waits_for()
    lines = [f"{phase}. Waiting for: {', '.join(waits) if waits else 'the phase end date'}."]
    upcoming = j.next_due()[:3]
    if upcoming:
        lines.append("Next: " + "; ".join(f"{describe(d.timer)} {when(d.at)}" for d in upcoming) + ".")
    open_ = [e for e in j.open_escalations() if e.kind == "escalation"]
    if open_:
        lines.append(f"Open escalations: {len(open_)} ({open_[0].reason}).")
    tasks = [e for e in j.open_escalations() if e.kind == "task"]
    if tasks:
        lines.append(f"Staff tasks: {len(tasks)} (next due {when(min(t.due_at or now for t in tasks))}).")
    if j.p.team is None:
        lines.append("Nobody is assigned yet: the CS manager has been asked.")
    return "\n".join(lines)


def email_context(j: Where, locale: str) -> dict[str, Any]:
    """What every template may use about the onboarding, with the playbook's texts in `locale`."""
    team = j.p.team
    done, pending, skipped = j.steps()
    next_module = next((m for m in j.playbook.modules if not j.has(f"module:{m.id}")), None)
    return {
        "company": j.contract.company,
        "segment": j.playbook.segment,
        "phase": text(j.phase.title, locale),
        "phase_number": j.p.phase_index + 1,
        "phase_count": len(j.playbook.phases),
        "steps_done": len(done),
        "steps_total": len(done) + len(pending) + len(skipped),
        "steps_pending": [text(s.title, locale) for p in j.playbook.phases for s in p.steps if s.id in pending],
        "open_steps": [
            {"id": s.id, "title": text(s.title, locale), "role": s.role, "confirmable": s.confirmable}
            | {"skippable": s.skippable}
            for p in j.playbook.phases
            for s in p.steps
            if s.id in pending
        ],
        "modules_done": len(j.modules_done()),
        "modules_total": len(j.playbook.modules),
        "next_module": text(next_module.title, locale) if next_module else None,
        "success_criteria": j.criteria_titles(locale),
        "signed_at": j.signed_at.isoformat(),
        "due_at": j.due_at().isoformat(),
        "csm_name": team.csm.name if team else "",
        "csm_email": team.csm.email if team else "",
        "kickoff_at": j.p.kickoff.at.isoformat() if j.p.kickoff else None,
        "champion_name": (j.recipient("champion") or j.contract.contact("champion")).name,
    }
