"""The journey's rules: `check` a message, `apply` it, `tick` the clock; each returns effects.

Pure and synchronous: given the state, a message and the time, the journey changes its
state and says what the outside world must do (emails, timeline rows, human tasks). The
workflow only carries these effects out, so every rule here is unit-tested without Temporal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.effects import (
    CancelRequest,
    Effect,
    Recipient,
)
from onboarding.journey.checks import Refused, refusal
from onboarding.journey.clock import Clock
from onboarding.journey.state import (
    SEEN_KEPT,
    EmailFailed,
    EngineMessage,
    OwnerFound,
    TeamAssigned,
)
from onboarding.messages import (
    Action,
    Cancel,
    CompleteStep,
    CorrectContact,
    EmailFeedback,
    HumanTouch,
    Invite,
    KickoffDone,
    Message,
    ModuleCompleted,
    Pause,
    ProductEvent,
    Reassign,
    ResolveEscalation,
    Resume,
    SkipStep,
    SuccessCriteriaMet,
    kind_of,
)
from onboarding.models import Contact, Team
from onboarding.playbook import Escalate, Send


class Journey(Clock):
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

    # ---- messages ----------------------------------------------------------------------

    def _message(self, m: Message, now: datetime) -> None:
        if isinstance(m, ProductEvent):
            self._product_event(m, now)
        elif isinstance(m, EmailFeedback):
            self._email_feedback(m, now)
        else:
            self._action(m, now)

    def _product_event(self, event: ProductEvent, now: datetime) -> None:
        data: dict[str, Any] = {}
        detail = event.action or ""
        if event.action:
            data["action"] = event.action
        if event.name == "survey_answer":
            detail = f"goal reached: {'yes' if event.goal_reached else 'no'}; CSAT {event.csat}; CES {event.ces}"
            data = {"goal_reached": event.goal_reached, "csat": event.csat, "ces": event.ces}
        self._record("event", event.name, "customer", now, detail=detail, data=data)
        if not self.onboarding:
            return
        if event.name != "support_ticket":
            self.p.last_activity_at = now
        self._learn(event.name, now)
        if event.action:
            self._learn(f"key_action:{event.action}", now)
        flags = self.playbook.red_flags
        if event.name == "survey_answer":
            self._learn("survey_answered", now)
            if event.goal_reached:
                self._learn("goal_reached", now)
            elif flags.goal_not_reached:
                self._escalate(
                    "goal_not_reached", flags.goal_not_reached, now, f"red_flag.goal_not_reached.{self.p.seq}"
                )
            if event.csat is not None and event.csat <= flags.low_csat_at_most and flags.low_csat:
                self._escalate("low_csat", flags.low_csat, now, f"red_flag.low_csat.{self.p.seq}")
        if event.name == "support_ticket":
            window = flags.support_load_threshold
            self.p.tickets = [t for t in self.p.tickets if now - t < window.within] + [now]
            if len(self.p.tickets) >= window.tickets and flags.support_load:
                self._escalate("support_load", flags.support_load, now, f"red_flag.support_load.{self.p.seq}")
                self.p.tickets = []

    def _email_feedback(self, feedback: EmailFeedback, now: datetime) -> None:
        """Opens and clicks count as activity; a hard bounce or spam report needs a person."""
        self._record(
            "event", f"email_{feedback.kind}", "provider", now, to=feedback.role, detail=feedback.template or ""
        )
        if not self.onboarding:
            return
        if feedback.kind in ("open", "click"):
            self.p.last_activity_at = now
        elif feedback.kind in ("bounce", "spam_report"):
            who = feedback.role or "a recipient"
            what = "bounced" if feedback.kind == "bounce" else "was reported as spam"
            reason = f"Email to {who} {what}: check the address and reach out another way"
            self._escalate(f"email_{feedback.kind}:{who}", Escalate(to="csm", reason=reason), now)

    def _action(self, a: Action, now: datetime) -> None:
        name, detail, progress = kind_of(a).name, "", True
        data: dict[str, Any] = {}
        if isinstance(a, KickoffDone):
            self._learn("kickoff_done", now)
            self._react("kickoff_done", self.playbook.reactions.kickoff_done, now, kickoff_notes=a.notes)
            detail = a.notes
        elif isinstance(a, ModuleCompleted):
            title = next(m.title for m in self.playbook.modules if m.id == a.module)
            self._learn(f"module:{a.module}", now)
            for send in self.playbook.reactions.module_completed:
                self._touch(f"module_completed.{a.module}.{send.template}", send, now, module_title=title)
            detail = a.module
        elif isinstance(a, SuccessCriteriaMet):
            self._learn("success_criteria_met", now)
            detail = a.evidence
        elif isinstance(a, CompleteStep):
            step = self.playbook.step(a.step)
            assert step is not None  # checked
            self._learn(step.fact, now)
            detail = a.step
        elif isinstance(a, SkipStep):
            self.p.skipped.append(a.step)
            detail = a.step
        elif isinstance(a, Invite):
            self._invite(a, now)
            detail, progress = f"{a.step} ({a.role})", False
        elif isinstance(a, Pause):
            self.p.paused_at, self.p.paused_until = now, a.until
            self._record("paused", "paused", a.by, now, detail=a.reason)
            detail, progress = a.reason, False
        elif isinstance(a, Resume):
            self._resume(a.by, now)
            progress = False
        elif isinstance(a, Cancel):
            self._cancel(a, now)
            detail, progress = a.reason, False
        elif isinstance(a, HumanTouch):
            self._learn(f"touch:{a.touch}", now)
            detail, progress, data = f"{a.touch}: {a.note}".rstrip(": "), False, {"touch": a.touch}
        elif isinstance(a, ResolveEscalation):
            self._resolve(next(e for e in self.open_escalations() if e.id == a.escalation), a.by, a.note, now)
            detail, progress = f"{a.escalation}: {a.note}", False
        elif isinstance(a, CorrectContact):
            self._correct_contact(a, now)
            detail, progress = f"{a.role} address corrected", False
        elif isinstance(a, Reassign):
            return  # applied once the roster has answered (OwnerFound)
        if progress:
            self.p.last_activity_at = now
        self._record("action", name, a.by, now, detail=detail, data=data)

    def _invite(self, a: Invite, now: datetime) -> None:
        step = self.playbook.step(a.step)
        assert step is not None  # checked
        self.p.invites_sent += 1
        colleague = Recipient(role="colleague", name=a.name, email=a.email)
        self._touch(
            f"invite.{self.p.invites_sent}",
            Send(template="colleague_invitation", to="colleague"),
            now,
            to=colleague,
            step_title=step.title,
            inviter_name=self.contract.contact("champion").name,
            invitee_role=a.role,
        )

    def _cancel(self, a: Cancel, now: datetime) -> None:
        """Terminal: nothing completes or goes out after this; open human tasks close as cancelled."""
        self.p.outcome = "cancelled"
        for esc in self.open_escalations():
            esc.resolved_at = now
        self._record("cancelled", a.reason, a.by, now, detail=a.note)
        self._out.append(
            CancelRequest(
                workflow_id=self.contract.workflow_id,
                key_prefix=f"{self.p.ref}/",
                account_id=self.contract.account_id,
                by=a.by,
                reason=a.reason,
                at=now,
            )
        )

    def _correct_contact(self, a: CorrectContact, now: datetime) -> None:
        current = self.recipient(a.role)
        name = a.name or (current.name if current else self.contract.contact(a.role).name)
        self.p.contacts[a.role] = Contact(role=a.role, name=name, email=a.email)
        for esc in self.open_escalations():
            if esc.problem in (f"email_failed:refused:{a.role}", f"email_bounce:{a.role}"):
                self._resolve(esc, a.by, "address corrected", now)

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
            self._escalate("unassigned", Escalate(to="cs_manager", reason=reason[:300]), now, "unassigned")
        else:
            for esc in self.open_escalations():
                if esc.problem == "unassigned":
                    self._resolve(esc, "engine", f"assigned to {found.team.csm.id}", now)
            if not first:
                self._record(
                    "action", "assigned", "engine", now, detail=found.team.csm.id, data={"owner": found.team.csm.id}
                )
        if found.over_capacity:
            self._escalate("capacity", Escalate(to="cs_manager", reason=found.over_capacity), now, "capacity")
        if first and self.onboarding:
            if self.contract.handover.complete:
                self.p.facts.setdefault("touch:sales_handover", self.signed_at)
            self._record("phase", self.phase.id, "engine", now, detail=f"{self.phase.title} begins")
            self._react("signed", self.playbook.reactions.signed, now)
            for send in self.phase.on_enter:
                self._touch(f"{self.phase.id}.enter.{send.template}", send, now)
        if first:
            early, self.p.early = self.p.early, []
            for message in early:
                self._message(message, now)

    def _owner_found(self, m: OwnerFound, now: datetime) -> None:
        reason = refusal(self, m.action, now)
        if reason:
            raise Refused(reason)
        if self.p.team:
            self.p.team = self.p.team.model_copy(update={"csm": m.staff})
        else:  # a manager assigns an onboarding nobody could be assigned to
            self.p.team = Team(csm=m.staff, cs_manager=self.p.cs_manager or m.staff)
            for esc in self.open_escalations():
                if esc.problem == "unassigned":
                    self._resolve(esc, m.action.by, f"assigned to {m.staff.id}", now)
        self.remember(m.action)
        self._record("action", "reassign", m.action.by, now, detail=m.staff.id, data={"owner": m.staff.id})

    def _email_failed(self, m: EmailFailed, now: datetime) -> None:
        if m.template == "escalation":
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
        self._escalate(problem, Escalate(to="csm", reason=reason), now, f"email_failed.{m.key.split('/', 1)[-1]}")
