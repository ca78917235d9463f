"""Where one customer stands: facts, phase, time with pauses taken out, timers due, health.

Read-only questions about a journey's state at a given moment; `rules.Journey` builds on
them to change the state. No clock is read here: every answer takes `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from onboarding.journey.people import People
from onboarding.journey.state import DAY, Due, Escalation, Progress
from onboarding.models import Contract, Health
from onboarding.playbook import Phase, Playbook, Step, Timer, text


class Where(People):
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
        return self.fact_at(fact) is not None

    def fact_at(self, fact: str) -> datetime | None:
        """When the fact became true, or None."""
        if fact == "success":
            met = [self.p.facts[f] for f in ("success_criteria_met", "goal_reached") if f in self.p.facts]
            return min(met) if met else None
        return self.p.facts.get(fact)

    def metric(self, name: str) -> float | None:
        """A reported metric; per-user ones also as `<name>.users` (users above 0) and
        `<name>.share` (those users over the contract's seats)."""
        base, _, part = name.partition(".")
        users = self.p.user_metrics.get(base)
        if part and users is not None:
            active = sum(1 for v in users.values() if v > 0)
            seats = self.contract.seats or self.contract.employees
            return float(active) if part == "users" else active / seats if part == "share" else None
        if users is not None and not part:
            return sum(users.values())
        return self.p.metrics.get(name)

    def title(self, texts: dict[str, str]) -> str:
        """A playbook text in the contract's language."""
        return text(texts, self.contract.locale)

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

    def criteria_titles(self, locale: str) -> list[str]:
        """The contract's success criteria in words: a playbook criterion by its title, else as agreed."""
        by_id = {c.id: c for c in self.playbook.success_criteria}
        return [text(by_id[c].title, locale) if c in by_id else c for c in self.contract.success_criteria]

    def measured_criteria(self) -> list[str]:
        """The playbook criteria the contract agreed to (by id): met together, they are success.
        Criteria in words only are judged by the CSM (success_criteria_met) or the survey."""
        ids = {c.id for c in self.playbook.success_criteria}
        return [c for c in self.contract.success_criteria if c in ids]

    # ---- time, with pauses taken out ---------------------------------------------------

    def paused_since(self, anchor: datetime) -> timedelta:
        """Paused time after `anchor` (finished pauses): how far its deadlines moved."""
        return sum((iv.end - max(iv.start, anchor) for iv in self.p.pauses if iv.end > anchor), timedelta())

    def shifted(self, anchor: datetime, after: timedelta) -> datetime:
        return anchor + after + self.paused_since(anchor)

    def anchor(self, since: str) -> datetime | None:
        """The moment a timer counts from: a fact's (None until it holds), the phase start, the last activity."""
        if since == "signed":
            return self.signed_at
        if since == "phase_start":
            return self.p.phase_started_at
        if since == "last_activity":
            return self.p.last_activity_at
        return self.fact_at(since)

    def due_at(self) -> datetime:
        """When the plan says the onboarding should be done."""
        return self.shifted(self.signed_at, self.playbook.length)

    # ---- timers -------------------------------------------------------------------------

    def _scoped_timers(self) -> list[tuple[str, Timer]]:
        timers = [(t.id, t) for t in self.playbook.timers if not t.during or self.phase.id in t.during]
        return timers + [(f"{self.phase.id}.{t.id}", t) for t in self.phase.timers]

    def next_due(self) -> list[Due]:
        """The next occurrence of every armed timer, earliest first (none while paused).

        A timer is armed once its `since` moment exists and while no `unless` fact holds."""
        if self.paused or not self.onboarding or not self.p.signed_in:
            return []
        out = []
        for key, timer in self._scoped_timers():
            if any(c.kind == "fact" and c.holds(self, self.p.phase_started_at) for c in timer.unless):
                continue
            anchor = self.anchor(timer.since)
            if anchor is None:
                continue
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
        anchor = self.anchor(ends.since) if ends else None
        return self.shifted(anchor, ends.after) if ends and anchor else None

    def deadline_at(self) -> datetime | None:
        """When the current phase's deadline falls, if it has one not yet reached."""
        deadline = self.phase.deadline
        if deadline is None or self.phase.id in self.p.deadlines_hit:
            return None
        anchor = self.anchor(deadline.since)
        return self.shifted(anchor, deadline.after) if anchor else None

    def overdue_at(self) -> datetime | None:
        """When the whole onboarding is overdue, if the playbook has the rule and it has not fired."""
        rule = self.playbook.overdue
        if rule is None or self.has("overdue"):
            return None
        return self.shifted(self.signed_at, rule.after or self.playbook.length)

    def phase_waits_for(self) -> list[str]:
        """What keeps the current phase open, in words a CSM reads."""
        waits = [
            f"{self.title(s.title)} ({s.role})"
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
        """Open escalations and staff tasks."""
        return [e for e in self.p.escalations if e.resolved_at is None]

    def problems(self, now: datetime) -> list[Escalation]:
        """What turns health red: open escalations, and staff tasks past their due time."""
        return [e for e in self.open_escalations() if e.kind == "escalation" or (e.due_at and now > e.due_at)]

    def health(self, now: datetime) -> tuple[Health, str]:
        rules = self.playbook.health
        inactive = self.inactive_for(now)
        open_ = self.problems(now)
        if self.p.outcome == "completed":
            return "green", "onboarding complete"
        if open_:
            what = "open escalation" if open_[0].kind == "escalation" else "overdue task"
            return "red", f"{what}: {open_[0].reason}"
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
            *(e.due_at + timedelta(seconds=1) for e in self.open_escalations() if e.kind == "task" and e.due_at),
        ]
        future = [c for c in candidates if c > now]
        return min(future) if future else None

    def next_wake(self, now: datetime) -> datetime | None:
        """The next moment the journey must look again, if nothing happens before."""
        later = [self.shifted(s.at, timedelta()) for s in self.p.scheduled] + [d.not_before for d in self.p.deferred]
        if self.p.outcome == "completed":
            return min([c for c in [self.next_check_in()] if c] + later, default=None)
        if not self.onboarding:
            return None
        if self.paused:
            return min(
                [at for at in [self.p.paused_until] if at] + [d.not_before for d in self.p.deferred], default=None
            )
        candidates = [d.at for d in self.next_due()[:1]]
        ends_at = self.phase_ends_at()
        if ends_at and ends_at > now and not self.phase_waits_for():
            candidates.append(ends_at)
        candidates += [at for at in (self.deadline_at(), self.overdue_at(), self.next_unclaimed()) if at]
        candidates += later
        change = self.next_health_change(now)
        if change:
            candidates.append(change)
        return min(candidates) if candidates else None

    def next_unclaimed(self) -> datetime | None:
        """When the first open escalation nobody claimed goes up to the CS manager."""
        within = self.playbook.claim_within
        if within is None:
            return None
        waiting = [e.opened_at + within for e in self.open_escalations() if unclaimed(e)]
        return min(waiting, default=None)

    def days_to_first_value(self) -> float | None:
        if not self.p.completed_at:
            return None
        return round((self.p.completed_at - self.signed_at) / DAY, 2)


def unclaimed(e: Escalation) -> bool:
    """An escalation that goes up to the CS manager if nobody claims it in time."""
    return e.kind == "escalation" and e.claimed_by is None and not e.escalated_up and e.to != "cs_manager"


def describe(timer: Timer) -> str:
    """A timer in a few words: 'reengagement to champion', 'escalation to csm'."""
    parts = []
    if timer.send:
        parts.append(f"{timer.send.template} to {timer.send.to}")
    if timer.escalate:
        parts.append(f"escalation to {timer.escalate.to}")
    if timer.task:
        parts.append(f"task for {timer.task.to}")
    return " + ".join(parts)
