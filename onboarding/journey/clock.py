"""What the clock does to a journey: a pause ends, timers fire, phases end, check-ins go.

Timers are anchored on a moment (signing, the phase start, the last activity) and moved by
the time spent paused; `tick(now)` fires every occurrence due by `now`, in order.
"""

from __future__ import annotations

from datetime import datetime

from onboarding.effects import Effect
from onboarding.journey.emit import Emitter
from onboarding.journey.state import Fired, Interval
from onboarding.playbook import Send


class Clock(Emitter):
    """A journey that moves with time."""

    def tick(self, now: datetime) -> list[Effect]:
        """What the clock does at `now`: a pause ends, timers fire, phases end, check-ins go."""
        self._out = []
        if self.onboarding and self.paused and self.p.paused_until and now >= self.p.paused_until:
            self._resume("engine", now)
        if self.onboarding and not self.paused and self.p.signed_in:
            self._fire_timers(now)
            self._advance(now)
        check_in = self.next_check_in()
        if check_in and now >= check_in:
            self.p.check_ins_sent += 1
            template = self.playbook.post_onboarding_template
            self._touch(f"check_in.{self.p.check_ins_sent}", Send(template=template, to="champion"), now)
        self._note_health(now)
        return self._take()

    def _resume(self, by: str, now: datetime) -> None:
        assert self.p.paused_at is not None  # checked
        self.p.pauses.append(Interval(start=self.p.paused_at, end=now))
        self.p.paused_at = self.p.paused_until = None
        self._record("resumed", "resumed", by, now, detail=f"paused for {(now - self.p.pauses[-1].start).days} days")

    def _fire_timers(self, now: datetime) -> None:
        while (due := next(iter(self.next_due()), None)) and due.at <= now:
            anchor = self.anchor(due.timer.since)
            fired = self.p.fired.get(due.key)
            count = fired.count + 1 if fired and fired.anchor == anchor else 1
            self.p.fired[due.key] = Fired(anchor=anchor, count=count)
            if due.timer.send:
                self._touch(due.touch_id, due.timer.send, now, rule=due.key)
            if due.timer.escalate:
                self._escalate(due.key, due.timer.escalate, now, due.touch_id)

    def _advance(self, now: datetime) -> None:
        """End every phase that can end; success completes the onboarding whatever the phase."""
        if not self.p.signed_in:
            return
        if self.has("success"):
            self._complete(now)
            return
        while self.onboarding and self.phase_can_end(now):
            phase = self.phase
            for send in phase.on_exit:
                self._touch(f"{phase.id}.exit.{send.template}", send, now)
            if self.p.phase_index == len(self.playbook.phases) - 1:
                self._complete(now)
                return
            self.p.phase_index += 1
            self.p.phase_started_at = now
            nxt = self.phase
            self._record("phase", nxt.id, "engine", now, detail=f"{phase.title} done; {nxt.title} begins")
            for send in nxt.on_enter:
                self._touch(f"{nxt.id}.enter.{send.template}", send, now)

    def _complete(self, now: datetime) -> None:
        self.p.outcome, self.p.completed_at = "completed", now
        self._react("success", self.playbook.reactions.success, now)
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
