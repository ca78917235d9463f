"""What the clock does to a journey: a pause ends, deferred emails go, timers fire, deadlines
pass, phases end, check-ins go.

Timers count from a moment (signing, a fact, the phase start, the last activity), moved by
the time spent paused; `tick(now)` performs everything due by `now`, in order.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from onboarding.effects import Effect
from onboarding.journey.emit import Emitter
from onboarding.journey.state import Fired, Interval, Scheduled
from onboarding.journey.where import unclaimed
from onboarding.playbook import Phase, Send


class Clock(Emitter):
    """A journey that moves with time."""

    def tick(self, now: datetime) -> list[Effect]:
        """What the clock does at `now`: a pause ends, timers fire, phases end, check-ins go."""
        self._out = []
        if self.onboarding and self.paused and self.p.paused_until and now >= self.p.paused_until:
            self._resume("engine", now)
        if self.onboarding:
            self._release_deferred(now)  # decided already (a pause's own confirmation): not held by it
        if self.onboarding and not self.paused and self.p.signed_in:
            self._perform_scheduled(now)
            self._fire_timers(now)
            self._go_up(now)
            self._check_overdue(now)
            self._advance(now)
        elif self.p.outcome == "completed":  # what success set off still goes (the testimonial request)
            self._release_deferred(now)
            self._perform_scheduled(now)
        check_in = self.next_check_in()
        if check_in and now >= check_in:
            self.p.check_ins_sent += 1
            template = self.playbook.post_onboarding_template
            self._touch(f"check_in.{self.p.check_ins_sent}", Send(template=template, to="champion"), now)
        self._note_health(now)
        return self._take()

    # ---- reactions ----------------------------------------------------------------------

    def _react(
        self,
        trigger: str,
        now: datetime,
        fields: dict[str, Any] | None = None,
        key: str | None = None,
        problem: str | None = None,
        **context: Any,
    ) -> None:
        """The playbook's reactions to `trigger`, each if its conditions hold (on the facts and
        on the message's `fields`); one with `after` waits and is checked again then.

        `key` names the occurrence (default: the trigger and the moment's sequence number)."""
        key = key or f"{trigger}.{self.p.seq}"
        for index, reaction in enumerate(getattr(self.playbook.reactions, trigger)):
            touch_id = f"{key}.{reaction.send.template if reaction.send else index}"
            if reaction.after:
                at = now + reaction.after
                scheduled = Scheduled(at=at, trigger=trigger, index=index, touch_id=touch_id, fields=fields or {})
                self.p.scheduled.append(scheduled)
            elif all(c.holds(self, now, fields) for c in reaction.when):
                self._do(touch_id, reaction, now, problem or f"reaction:{trigger}", **context)

    def _perform_scheduled(self, now: datetime) -> None:
        due = [s for s in self.p.scheduled if self.shifted(s.at, timedelta()) <= now]
        self.p.scheduled = [s for s in self.p.scheduled if s not in due]
        for s in due:
            reaction = getattr(self.playbook.reactions, s.trigger)[s.index]
            step = s.fields.get("step")
            if isinstance(step, str) and self._step_settled(step, s.trigger):
                continue  # the step it was about has moved on: nothing to remind of
            if all(c.holds(self, now, s.fields) for c in reaction.when):
                self._do(s.touch_id, reaction, now, f"reaction:{s.trigger}", **self._step_context(step))

    def _step_settled(self, step_id: str, trigger: str) -> bool:
        step = self.playbook.step(step_id)
        if step is None or self.step_done(step):
            return True
        return (trigger == "step_skipped" and step_id not in self.p.skipped) or (
            trigger == "step_stuck" and step_id not in self.p.stuck
        )

    def _step_context(self, step_id: object) -> dict[str, Any]:
        step = self.playbook.step(step_id) if isinstance(step_id, str) else None
        return {"step_title": self.title(step.title)} if step else {}

    # ---- timers -------------------------------------------------------------------------

    def _resume(self, by: str, now: datetime) -> None:
        assert self.p.paused_at is not None  # checked
        self.p.pauses.append(Interval(start=self.p.paused_at, end=now))
        self.p.paused_at = self.p.paused_until = None
        days = (now - self.p.pauses[-1].start).days
        self._record("resumed", "resumed", by, now, detail=f"paused for {days} days")
        self._react("resumed", now, {"days": days})

    def _fire_timers(self, now: datetime) -> None:
        while (due := next(iter(self.next_due()), None)) and due.at <= now:
            timer = due.timer
            anchor = self.anchor(timer.since)
            assert anchor is not None  # next_due arms only anchored timers
            fired = self.p.fired.get(due.key)
            count = fired.count + 1 if fired and fired.anchor == anchor else 1
            self.p.fired[due.key] = Fired(anchor=anchor, count=count)
            if any(c.holds(self, now) for c in timer.unless) or not all(c.holds(self, now) for c in timer.when):
                continue  # this occurrence is skipped; a cadence goes on
            self._do(due.touch_id, timer, now, due.key)

    def _go_up(self, now: datetime) -> None:
        """An escalation nobody claimed in time goes to the CS manager."""
        within = self.playbook.claim_within
        up = self.staff("cs_manager")
        if within is None or up is None:
            return
        for esc in self.open_escalations():
            if not unclaimed(esc) or esc.opened_at + within > now:
                continue
            esc.escalated_up = True
            self._reassign_task(esc, up.id, "engine", now)
            hours = round(within.total_seconds() / 3600, 1)
            self._record("event", "escalated_up", "engine", now, to="cs_manager", detail=esc.id)
            self._touch(
                f"{esc.id}.up",
                Send(template="escalation", to="cs_manager"),
                now,
                reason=f"{esc.reason} (nobody claimed it within {hours:g} h)",
                rule=esc.rule,
                days_stalled=self.inactive_for(now).days,
                escalation_id=esc.id,
            )

    def _check_overdue(self, now: datetime) -> None:
        at, rule = self.overdue_at(), self.playbook.overdue
        if at is None or rule is None or now < at:
            return
        self._learn("overdue", now)
        self._record(
            "event", "overdue", "engine", now, detail=f"past the standard length of {self.playbook.length.days} days"
        )
        if rule.send:
            self._touch(f"overdue.{rule.send.template}", rule.send, now)
        if rule.escalate:
            self._escalate("overdue", rule.escalate, now, "overdue")

    # ---- phases -------------------------------------------------------------------------

    def _advance(self, now: datetime) -> None:
        """End every phase that can end; success completes the onboarding whatever the phase."""
        if not self.p.signed_in:
            return
        self._meet_criteria(now)
        for step_id in list(self.p.stuck):
            step = self.playbook.step(step_id)
            if step is not None and self.step_done(step):
                self._settle(step_id, "customer", now)
        if self.has("success"):
            self._complete(now)
            return
        while self.onboarding and (self.phase_can_end(now) or self._deadline_moves_on(now)):
            phase = self.phase
            for send in phase.on_exit:
                self._touch(f"{phase.id}.exit.{send.template}", send, now)
            if self.p.phase_index == len(self.playbook.phases) - 1:
                self._complete(now)
                return
            self.p.phase_index += 1
            self.p.phase_started_at = now
            self._enter(self.phase, now, f"{self.title(phase.title)} done; {self.title(self.phase.title)} begins")

    def _enter(self, phase: Phase, now: datetime, detail: str, react: str | None = None) -> None:
        """A phase begins (the first one at signing, after the `signed` reactions)."""
        self._learn(f"phase:{phase.id}", now)
        self._record("phase", phase.id, "engine", now, detail=detail)
        if react:
            self._react(react, now, key=react)
        for send in phase.on_enter:
            self._touch(f"{phase.id}.enter.{send.template}", send, now)

    def _settle(self, step_id: str, by: str, now: datetime) -> None:
        """A step done or skipped is no longer stuck: its stuck escalation closes."""
        if self.p.stuck.pop(step_id, None) is not None:
            for esc in self.open_escalations():
                if esc.problem == f"stuck:{step_id}":
                    self._resolve(esc, by, "the step moved on", now)

    def _deadline_moves_on(self, now: datetime) -> bool:
        """A phase still open at its deadline: escalate or send as the playbook says, and
        say whether it moves on."""
        at, deadline = self.deadline_at(), self.phase.deadline
        if at is None or deadline is None or now < at or self.phase_can_end(now):
            return False
        phase = self.phase
        self.p.deadlines_hit.append(phase.id)
        left = ", ".join(self.phase_waits_for()) or "nothing"
        self._record("event", "deadline", "engine", now, detail=f"{self.title(phase.title)}: still open ({left})")
        if deadline.send:
            self._touch(f"{phase.id}.deadline.{deadline.send.template}", deadline.send, now)
        if deadline.escalate:
            self._escalate(f"{phase.id}.deadline", deadline.escalate, now, f"{phase.id}.deadline")
        return deadline.move_on

    def _meet_criteria(self, now: datetime) -> None:
        """Measurable criteria met the moment their conditions hold; all that count met is success."""
        for c in self.playbook.success_criteria:
            if not self.has(f"criterion:{c.id}") and all(cond.holds(self, now) for cond in c.when):
                self._learn(f"criterion:{c.id}", now)
                self._record(
                    "event", "criterion_met", "engine", now, detail=self.title(c.title), data={"criterion": c.id}
                )
        counted = self.measured_criteria()
        if counted and not self.has("success_criteria_met") and all(self.has(f"criterion:{c}") for c in counted):
            self._learn("success_criteria_met", now)

    def _complete(self, now: datetime) -> None:
        self.p.outcome, self.p.completed_at = "completed", now
        for esc in self.open_escalations():
            if esc.problem == "overdue":
                self._resolve(esc, "engine", "success reached", now)
        self._react("success", now, key="success")
        days = self.days_to_first_value()
        self._record(
            "completed",
            "onboarding_complete",
            "engine",
            now,
            detail=f"time to first value: {days} days",
            data={"days_to_first_value": days},
        )

    def _note_health(self, now: datetime) -> None:
        """A health change goes on the timeline the moment it happens."""
        health, reason = self.health(now)
        if health != self.p.health and self.p.signed_in:
            self._record("health", health, "engine", now, detail=reason)
        self.p.health = health
