"""Where one customer stands: facts, phase, time with pauses taken out, timers due, health.

Read-only questions about a journey's state at a given moment; `rules.Journey` builds on
them to change the state. No clock is read here: every answer takes `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from onboarding.effects import Recipient
from onboarding.journey.state import DAY, Due, Escalation, Progress
from onboarding.models import VENDOR_ROLES, Contract, Health, Person, StaffMember
from onboarding.playbook import Escalate, Phase, Playbook, Step, Timer


class Where:
    """A contract, its snapshotted playbook and the progress made."""

    def __init__(self, contract: Contract, playbook: Playbook, progress: Progress) -> None:
        self.contract = contract
        self.playbook = playbook
        self.p = progress

    # ---- where we are ----------------------------------------------------------------

    @property
    def signed_at(self) -> datetime:
        assert self.contract.signed_at is not None, "the starter stamps signed_at"
        return self.contract.signed_at

    @property
    def phase(self) -> Phase:
        return self.playbook.phases[min(self.p.phase_index, len(self.playbook.phases) - 1)]

    @property
    def onboarding(self) -> bool:
        """Still onboarding: neither completed nor cancelled."""
        return self.p.outcome == "active"

    @property
    def paused(self) -> bool:
        return self.p.paused_at is not None

    def has(self, fact: str) -> bool:
        if fact == "success":
            return "success_criteria_met" in self.p.facts or "goal_reached" in self.p.facts
        return fact in self.p.facts

    def step_done(self, step: Step) -> bool:
        return self.has(step.fact)

    def steps(self) -> tuple[list[str], list[str], list[str]]:
        """(done, pending, skipped) step ids: done and skipped in any phase (customers work ahead),
        pending in the phases reached so far."""
        done, pending, skipped = [], [], []
        for index, phase in enumerate(self.playbook.phases):
            for s in phase.steps:
                if self.step_done(s):
                    done.append(s.id)
                elif s.id in self.p.skipped:
                    skipped.append(s.id)
                elif index <= self.p.phase_index:
                    pending.append(s.id)
        return done, pending, skipped

    def modules_done(self) -> list[str]:
        return [m for m in self.playbook.module_ids() if self.has(f"module:{m}")]

    def next_module(self) -> str | None:
        return next((m.title for m in self.playbook.modules if not self.has(f"module:{m.id}")), None)

    # ---- time, with pauses taken out ---------------------------------------------------

    def paused_since(self, anchor: datetime) -> timedelta:
        """Paused time after `anchor` (finished pauses): how far its deadlines moved."""
        return sum((iv.end - max(iv.start, anchor) for iv in self.p.pauses if iv.end > anchor), timedelta())

    def shifted(self, anchor: datetime, after: timedelta) -> datetime:
        return anchor + after + self.paused_since(anchor)

    def anchor(self, since: str) -> datetime:
        if since == "signed":
            return self.signed_at
        if since == "phase_start":
            return self.p.phase_started_at
        return self.p.last_activity_at

    def due_at(self) -> datetime:
        """When the plan says the onboarding should be done."""
        return self.shifted(self.signed_at, self.playbook.length)

    # ---- timers -------------------------------------------------------------------------

    def _scoped_timers(self) -> list[tuple[str, Timer]]:
        timers = [(t.id, t) for t in self.playbook.timers]
        return timers + [(f"{self.phase.id}.{t.id}", t) for t in self.phase.timers]

    def next_due(self) -> list[Due]:
        """The next occurrence of every armed timer, earliest first (none while paused)."""
        if self.paused or not self.onboarding or not self.p.signed_in:
            return []
        out = []
        for key, timer in self._scoped_timers():
            if any(self.has(f) for f in timer.unless):
                continue
            anchor = self.anchor(timer.since)
            fired = self.p.fired.get(key)
            n = fired.count if fired and fired.anchor == anchor else 0
            if timer.occurrences is not None and n >= timer.occurrences:
                continue
            at = self.shifted(anchor, timer.after + n * (timer.every or timedelta()))
            stamp = f"@{anchor:%Y%m%dT%H%M%S}" if timer.since == "last_activity" else ""
            out.append(Due(key=key, touch_id=f"{key}{stamp}.{n + 1}", at=at, timer=timer))
        return sorted(out, key=lambda d: d.at)

    def next_check_in(self) -> datetime | None:
        """After onboarding: weekly, then monthly, then quarterly (as the playbook says)."""
        if self.p.outcome != "completed" or self.p.completed_at is None:
            return None
        at, sent = self.p.completed_at, self.p.check_ins_sent
        for stage in self.playbook.check_ins:
            times = stage.times if stage.times is not None else sent + 1
            for _ in range(times):
                at += stage.every
                if sent == 0:
                    return at
                sent -= 1
        raise AssertionError("the last check-in stage repeats forever")

    # ---- phases -------------------------------------------------------------------------

    def phase_ends_at(self) -> datetime | None:
        ends = self.phase.ends
        return self.shifted(self.anchor(ends.since), ends.after) if ends else None

    def phase_waits_for(self) -> list[str]:
        """What keeps the current phase open, in words a CSM reads."""
        waits = [
            f"{s.title} ({s.role})"
            for s in self.phase.steps
            if s.required and not self.step_done(s) and s.id not in self.p.skipped
        ]
        waits += [f.replace("_", " ") for f in self.phase.exit_when if not self.has(f)]
        return waits

    def phase_can_end(self, now: datetime) -> bool:
        ends_at = self.phase_ends_at()
        return not self.phase_waits_for() and (ends_at is None or now >= ends_at)

    # ---- health -------------------------------------------------------------------------

    def inactive_for(self, now: datetime) -> timedelta:
        paused_now = now - self.p.paused_at if self.p.paused_at else timedelta()
        return now - self.p.last_activity_at - self.paused_since(self.p.last_activity_at) - paused_now

    def open_escalations(self) -> list[Escalation]:
        return [e for e in self.p.escalations if e.resolved_at is None]

    def health(self, now: datetime) -> tuple[Health, str]:
        rules = self.playbook.health
        inactive = self.inactive_for(now)
        open_ = self.open_escalations()
        if self.p.outcome == "completed":
            return "green", "onboarding complete"
        if open_:
            return "red", f"open escalation: {open_[0].reason}"
        if inactive >= rules.red_after_inactive:
            return "red", f"no activity for {inactive.days} days"
        if inactive >= rules.yellow_after_inactive:
            return "yellow", f"no activity for {inactive.days} days"
        planned_end = self.shifted(self.p.phase_started_at, self.phase.planned)
        if not self.paused and now > planned_end:
            return "yellow", f"{self.phase.title} is behind plan by {(now - planned_end).days + 1} days"
        return "green", "on track"

    def next_health_change(self, now: datetime) -> datetime | None:
        if self.paused or not self.onboarding:
            return None
        rules = self.playbook.health
        candidates = [
            self.shifted(self.p.last_activity_at, rules.yellow_after_inactive),
            self.shifted(self.p.last_activity_at, rules.red_after_inactive),
            self.shifted(self.p.phase_started_at, self.phase.planned) + timedelta(seconds=1),
        ]
        future = [c for c in candidates if c > now]
        return min(future) if future else None

    def next_wake(self, now: datetime) -> datetime | None:
        """The next moment the journey must look again, if nothing happens before."""
        if self.p.outcome == "completed":
            return self.next_check_in()
        if not self.onboarding:
            return None
        if self.paused:
            return self.p.paused_until
        candidates = [d.at for d in self.next_due()[:1]]
        ends_at = self.phase_ends_at()
        if ends_at and ends_at > now and not self.phase_waits_for():
            candidates.append(ends_at)
        change = self.next_health_change(now)
        if change:
            candidates.append(change)
        return min(candidates) if candidates else None

    # ---- people ---------------------------------------------------------------------------

    def assignee(self, esc: Escalate) -> str:
        team = self.p.team
        if team is None:
            return self.p.cs_manager.id if self.p.cs_manager else esc.to
        person = getattr(team, esc.to, None) or team.csm
        return str(person.id)

    def recipient(self, role: str) -> Recipient | None:
        """Who gets mail for `role`: the contract's (or corrected) contact, the sales rep, or a
        member of the team; with nobody assigned yet, vendor mail goes to the CS manager, if any."""
        person: Person | StaffMember | None
        if role == "sales_rep":
            person = self.contract.sales_rep
        elif role in VENDOR_ROLES:
            team = self.p.team
            person = (getattr(team, role, None) or team.csm) if team else self.p.cs_manager
        else:
            contact = self.p.contacts.get(role) or self.contract.contact(role)
            person = self.p.contacts.get(contact.role, contact)  # a stand-in champion may be corrected too
        return Recipient(role=role, name=person.name, email=person.email) if person else None

    def days_to_first_value(self) -> float | None:
        if not self.p.completed_at:
            return None
        return round((self.p.completed_at - self.signed_at) / DAY, 2)


def describe(timer: Timer) -> str:
    """A timer in a few words: 'reengagement to champion', 'escalation to csm'."""
    parts = []
    if timer.send:
        parts.append(f"{timer.send.template} to {timer.send.to}")
    if timer.escalate:
        parts.append(f"escalation to {timer.escalate.to}")
    return " + ".join(parts)
