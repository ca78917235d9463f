"""The journey's rules: `check` a message, `apply` it, `tick` the clock; each returns effects.

Pure and synchronous: given the state, a message and the time, the journey changes its
state and says what the outside world must do (emails, timeline rows, human tasks). The
workflow only carries these effects out, so every rule here is unit-tested without Temporal.
"""

from __future__ import annotations

from datetime import datetime

from onboarding.effects import Effect
from onboarding.journey.actions import Actions
from onboarding.journey.checks import Refused, refusal
from onboarding.journey.state import (
    SEEN_KEPT,
    EmailFailed,
    EngineMessage,
    OwnerFound,
    TeamAssigned,
)
from onboarding.messages import EmailFeedback, Message, ProductEvent, Reassign, kind_of
from onboarding.models import Team
from onboarding.playbook import Escalate


class Journey(Actions):
    """One onboarding's rules, applied. Every change goes through `apply` or `tick`."""

    def check(self, message: Message, now: datetime) -> None:
        """Raise `Refused` with the reason a person reads if the message cannot be applied now."""
        if not self.seen(message):
            reason = refusal(self, message, now)
            if reason:
                raise Refused(reason)

    def apply(self, message: Message | EngineMessage, now: datetime) -> list[Effect]:
        """Check the message again (the state may have moved since validation), then apply it."""
        self._out = []
        if isinstance(message, TeamAssigned | OwnerFound | EmailFailed):
            self._engine(message, now)
        else:
            self.check(message, now)
            if self.seen(message):
                return []
            if not isinstance(message, Reassign):  # remembered once the roster has answered (OwnerFound)
                self.remember(message)
            if isinstance(message, ProductEvent | EmailFeedback) and not self.p.signed_in:
                self.p.early.append(message)  # escalations it raises need the team to address
                return []
            if self.onboarding:
                self._release_deferred(now)  # what was due goes before what this message sends
            self._message(message, now)
        if self.onboarding and not self.paused:
            self._advance(now)
        self._note_health(now)
        return self._take()

    # ---- deduplication -------------------------------------------------------------------

    @staticmethod
    def _id(message: Message) -> str | None:
        return f"{kind_of(message).name}:{message.id}" if message.id else None

    def seen(self, message: Message) -> bool:
        """A redelivered message (same id, same kind) was applied already: it changes nothing."""
        mid = self._id(message)
        return mid is not None and mid in self.p.seen

    def remember(self, message: Message) -> None:
        mid = self._id(message)
        if mid:
            self.p.seen = [*self.p.seen[-(SEEN_KEPT - 1) :], mid]

    def _message(self, m: Message, now: datetime) -> None:
        if isinstance(m, ProductEvent):
            self._product_event(m, now)
        elif isinstance(m, EmailFeedback):
            self._email_feedback(m, now)
        else:
            self._action(m, now)

    # ---- what the engine reports ----------------------------------------------------------

    def _engine(self, m: EngineMessage, now: datetime) -> None:
        if isinstance(m, TeamAssigned):
            self._team_assigned(m, now)
        elif isinstance(m, OwnerFound):
            self._owner_found(m, now)
        elif self.onboarding or self.p.outcome == "completed":
            self._email_failed(m, now)

    def _team_assigned(self, m: TeamAssigned, now: datetime) -> None:
        found = m.assignment
        first = not self.p.signed_in
        self.p.team, self.p.cs_manager, self.p.signed_in = found.team, found.cs_manager, True
        if found.team is None:
            reason = f"Nobody could be assigned: {found.unassigned}"
            self._escalate("unassigned", Escalate(to="cs_manager", reason={"en": reason[:300]}), now, "unassigned")
        else:
            for esc in self.open_escalations():
                if esc.problem == "unassigned":
                    self._resolve(esc, "engine", f"assigned to {found.team.csm.id}", now)
            if not first:
                self._record(
                    "action", "assigned", "engine", now, detail=found.team.csm.id, data={"owner": found.team.csm.id}
                )
        if found.over_capacity:
            over = Escalate(to="cs_manager", reason={"en": found.over_capacity})
            self._escalate("capacity", over, now, "capacity")
        if first and self.onboarding:
            if self.contract.handover.complete(self.playbook.handover.requires):
                self.p.facts.setdefault("touch:sales_handover", self.signed_at)
            self.p.facts.setdefault("signed", self.signed_at)
            if self.playbook.variants or self.playbook.variant:  # an A/B test: the report compares groups
                group = self.playbook.variant or "control"
                data = {"variant": group, "version": self.playbook.version}
                self._record("event", "playbook_variant", "engine", now, detail=group, data=data)
            self._enter(self.phase, now, f"{self.title(self.phase.title)} begins", react="signed")
        if first:
            early, self.p.early = self.p.early, []
            for message in early:
                self._message(message, now)

    def _owner_found(self, m: OwnerFound, now: datetime) -> None:
        reason = refusal(self, m.action, now)
        if reason:
            raise Refused(reason)
        before = self.p.team.csm.name if self.p.team else None
        if self.p.team:
            self.p.team = self.p.team.model_copy(update={"csm": m.staff})
        else:  # a manager assigns an onboarding nobody could be assigned to
            self.p.team = Team(csm=m.staff, cs_manager=self.p.cs_manager or m.staff)
            for esc in self.open_escalations():
                if esc.problem == "unassigned":
                    self._resolve(esc, m.action.by, f"assigned to {m.staff.id}", now)
        self.remember(m.action)
        self._record("action", "reassign", m.action.by, now, detail=m.staff.id, data={"owner": m.staff.id})
        if self.onboarding:
            self._react("reassigned", now, {"owner": m.staff.id}, previous_csm_name=before or "")

    def _email_failed(self, m: EmailFailed, now: datetime) -> None:
        if m.template in ("escalation", "task"):
            # The task behind this notice is open already: escalating the failed notice would
            # send another notice the same way, forever.
            self._record("event", "email_failed", "engine", now, to=m.role, detail=m.reason)
            return
        if m.refused:
            problem, what = f"email_failed:refused:{m.role}", f"Email '{m.template}' to the {m.role} was refused"
            hint = f"Correct the address with: python admin.py contact {self.contract.account_id} {m.role} --email ..."
        else:
            problem, what = f"email_failed:broken:{m.template}", f"Email '{m.template}' to the {m.role} cannot be sent"
            hint = "Fix the template or the email settings; later emails still go"
        reason = f"{what}: {m.reason.rstrip('.')}. {hint}"[:300]
        failed = Escalate(to="csm", reason={"en": reason})
        self._escalate(problem, failed, now, f"email_failed.{m.key.split('/', 1)[-1]}")
