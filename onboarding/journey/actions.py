"""What people do: the CSM's actions and the customer's own, each recorded with who did it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from onboarding.effects import CalendarInvite, CancelRequest, EmailRequest
from onboarding.journey.events import Events
from onboarding.journey.migrate import migrate, snapshot
from onboarding.journey.state import Kickoff, Person
from onboarding.messages import (
    Action,
    ApplyPlaybook,
    ApproveInvite,
    Cancel,
    ClaimEscalation,
    CompleteStep,
    CorrectContact,
    HandStep,
    HumanTouch,
    Invite,
    KickoffDone,
    MarkStuck,
    ModuleCompleted,
    Pause,
    Reassign,
    RequestPause,
    ResolveEscalation,
    Resume,
    ScheduleKickoff,
    SkipStep,
    SuccessCriteriaMet,
    kind_of,
)
from onboarding.models import Contact
from onboarding.playbook import Escalate, Send, Task, text


class Actions(Events):
    """A journey people act on."""

    def _action(self, a: Action, now: datetime) -> None:
        """Apply one action; the timeline row says who did what (`progress`: it counts as activity)."""
        if isinstance(a, Reassign):
            return  # applied once the roster has answered (OwnerFound)
        if isinstance(a, ApplyPlaybook) and a.version == self.playbook.version:
            return  # a rollout run again: this onboarding follows that version already
        detail, progress, data = self._act(a, now)
        if progress:
            self.p.last_activity_at = now
        self._record("action", kind_of(a).name, a.by, now, detail=detail, data=data)

    def _act(self, a: Action, now: datetime) -> tuple[str, bool, dict[str, Any]]:
        if isinstance(a, KickoffDone):
            self._learn("kickoff_done", now)
            self._react("kickoff_done", now, key="kickoff_done", kickoff_notes=a.notes)
            return a.notes, True, {}
        if isinstance(a, ModuleCompleted):
            module = next(m for m in self.playbook.modules if m.id == a.module)
            self._learn(f"module:{a.module}", now)
            key = f"module_completed.{a.module}"
            self._react("module_completed", now, {"module": a.module}, key=key, module_title=self.title(module.title))
            return a.module, True, {}
        if isinstance(a, SuccessCriteriaMet):
            self._learn("success_criteria_met", now)
            return a.evidence, True, {}
        if isinstance(a, CompleteStep):
            step = self.playbook.step(a.step)
            assert step is not None  # checked
            self._learn(step.fact, now)
            self._settle(a.step, a.by, now)
            return a.step, True, {}
        if isinstance(a, SkipStep):
            self.p.skipped.append(a.step)
            self._settle(a.step, a.by, now)
            self._react("step_skipped", now, {"step": a.step}, **self._step_context(a.step))
            return a.step, True, {}
        if isinstance(a, MarkStuck):
            return self._stuck(a, now), False, {"step": a.step}
        if isinstance(a, HandStep):
            self.p.owners[a.step] = a.to
            self._on_plan(a.to).steps.append(a.step)
            return a.step, False, {"step": a.step}
        if isinstance(a, Invite):
            return self._invite(a, now), False, {"step": a.step}
        if isinstance(a, ApproveInvite):
            held = next(i for i in self.p.held_invites if i.email == a.email)
            self.p.held_invites.remove(held)
            self._send_invite(held, now)
            self._close("approve_invite", a.by, "approved", now)
            return a.email, False, {}
        if isinstance(a, Pause):
            self._pause(a.reason, a.until, a.by, now)
            self._close("approve_pause", a.by, "paused", now)
            return a.reason, False, {}
        if isinstance(a, RequestPause):
            if self.playbook.self_pause:
                self._pause(a.reason, a.until, a.by, now)
            else:
                until = f" until {a.until:%Y-%m-%d}" if a.until else ""
                title = {"en": f"The customer asks to pause{until}: {a.reason}"[:300]}
                task = Task(to="csm", title=title, due=timedelta(days=1))
                self._task("approve_pause", task, now, f"approve_pause.{self.p.seq}")
            return a.reason, False, {}
        if isinstance(a, Resume):
            self._resume(a.by, now)
            return "", False, {}
        if isinstance(a, Cancel):
            self._cancel(a, now)
            return a.reason, False, {}
        if isinstance(a, HumanTouch):
            self._learn(f"touch:{a.touch}", now)
            return f"{a.touch}: {a.note}".rstrip(": "), False, {"touch": a.touch}
        if isinstance(a, ResolveEscalation):
            self._resolve(next(e for e in self.open_escalations() if e.id == a.escalation), a.by, a.note, now)
            return f"{a.escalation}: {a.note}", False, {}
        if isinstance(a, ClaimEscalation):
            esc = next(e for e in self.open_escalations() if e.id == a.escalation)
            esc.claimed_by = a.by
            self._reassign_task(esc, a.by, a.by, now)
            return a.escalation, False, {"escalation": a.escalation}
        if isinstance(a, ScheduleKickoff):
            return self._schedule_kickoff(a, now), False, {}
        if isinstance(a, ApplyPlaybook):
            return self._switch_playbook(a)
        assert isinstance(a, CorrectContact), a
        self._correct_contact(a, now)
        return f"{a.role} address corrected", False, {}

    def _switch_playbook(self, a: ApplyPlaybook) -> tuple[str, bool, dict[str, Any]]:
        """Follow another playbook version from now on, the state mapped onto it by id."""
        new, before = snapshot(a.playbook, a.version), self.playbook.version
        self.p = migrate(self.p, self.playbook, new)
        self.playbook = new
        return f"playbook {before} -> {new.version}", False, {"from": before, "to": new.version}

    # ---- steps ---------------------------------------------------------------------------

    def _stuck(self, a: MarkStuck, now: datetime) -> str:
        step = self.playbook.step(a.step)
        assert step is not None  # checked
        self.p.stuck[a.step] = a.reason
        who = self._on_plan(a.customer).role if a.customer else a.by  # a role, never an address
        reason = f"{text(step.title, 'en')} is stuck ({who}): {a.reason}"[:300]
        self._escalate(
            f"stuck:{a.step}", Escalate(to="csm", reason={"en": reason}), now, f"stuck.{a.step}.{self.p.seq}"
        )
        self._react("step_stuck", now, {"step": a.step}, problem=f"stuck:{a.step}", step_title=self.title(step.title))
        return f"{a.step}: {a.reason}"

    def _on_plan(self, email: str) -> Person:
        """The person on the plan with this address (a contract contact joins the list when first named)."""
        for person in self.p.people:
            if person.email == email:
                return person
        contact = next((c for c in (*self.p.contacts.values(), *self.contract.contacts) if c.email == email), None)
        assert contact is not None, "checked: only people on the plan"
        person = Person(name=contact.name, email=email, role=contact.role)
        self.p.people.append(person)
        return person

    def _invite(self, a: Invite, now: datetime) -> str:
        person = next((p for p in self.p.people if p.email == a.email), None)
        if person is None:
            person = Person(name=a.name, email=a.email, role=a.role)
            self.p.people.append(person)
        if a.step not in person.steps:
            person.steps.append(a.step)
        champion_domain = self.contract.contact("champion").email.rpartition("@")[2]
        outside = a.email.rpartition("@")[2] != champion_domain
        if a.customer and outside and not self.playbook.invite_outside_domain:
            self.p.held_invites.append(a)
            title = {"en": f"Approve an invitation to step {a.step} for an address outside {champion_domain}"}
            self._task("approve_invite", Task(to="csm", title=title), now, f"approve_invite.{self.p.seq}")
            return f"{a.step} ({a.role}), waiting for approval"
        self._send_invite(a, now)
        return f"{a.step} ({a.role})"

    def _send_invite(self, a: Invite, now: datetime) -> None:
        step = self.playbook.step(a.step)
        assert step is not None  # checked
        self.p.invites_sent += 1
        inviter = next((p.name for p in self.p.people if p.email == a.customer), None)
        self._touch(
            f"invite.{self.p.invites_sent}",
            Send(template="colleague_invitation", to="colleague"),
            now,
            to=self.customer("colleague", a.name, a.email),
            step=a.step,
            step_title=self.title(step.title),
            inviter_name=inviter or self.contract.contact("champion").name,
            invitee_role=a.role,
        )

    def _close(self, problem: str, by: str, note: str, now: datetime) -> None:
        for esc in self.open_escalations():
            if esc.problem == problem:
                self._resolve(esc, by, note, now)

    # ---- pauses, kickoff, cancellation -----------------------------------------------------

    def _pause(self, reason: str, until: datetime | None, by: str, now: datetime) -> None:
        self.p.paused_at, self.p.paused_until = now, until
        self._record("paused", "paused", by, now, detail=reason)
        self._react("paused", now, {"reason": reason}, until=until.isoformat() if until else None)

    def _schedule_kickoff(self, a: ScheduleKickoff, now: datetime) -> str:
        sequence = self.p.kickoff.sequence + 1 if self.p.kickoff else 0
        self.p.kickoff = Kickoff(at=a.at, minutes=a.minutes, sequence=sequence)
        self._learn("kickoff_scheduled", now)
        invite = self._calendar("REQUEST")
        send = Send(template="kickoff_invitation", to="champion")
        self._touch(f"kickoff_invitation.{sequence}", send, now, calendar=invite, kickoff_minutes=a.minutes)
        self._react("kickoff_scheduled", now)
        return f"{a.at:%Y-%m-%d %H:%M} UTC ({a.minutes} min)"

    def _calendar(self, method: str) -> CalendarInvite:
        k = self.p.kickoff
        assert k is not None
        csm = self.recipient("csm")
        assert csm is not None or method == "CANCEL"
        organizer = csm or self.recipient("champion")
        assert organizer is not None
        return CalendarInvite(
            uid=f"{self.p.ref}.kickoff",
            sequence=k.sequence,
            start=k.at,
            end=k.at + timedelta(minutes=k.minutes),
            method=method,  # type: ignore[arg-type]
            summary=f"Kickoff: {self.contract.company}",
            organizer=organizer,
        )

    def _cancel(self, a: Cancel, now: datetime) -> None:
        """Terminal: nothing completes or goes out after this but what the cancellation itself
        sends (the exit interview, the kickoff's cancellation); open human tasks close as cancelled."""
        self.p.outcome = "cancelled"
        self.p.deferred, self.p.scheduled = [], []
        for esc in self.open_escalations():
            esc.resolved_at = now
        self._record("cancelled", a.reason, a.by, now, detail=a.note)
        start = len(self._out)
        if self.p.kickoff and self.p.kickoff.invited and not self.has("kickoff_done"):
            self.p.kickoff.sequence += 1
            invite = self._calendar("CANCEL")
            cancelled = Send(template="kickoff_cancelled", to="champion")
            self._touch(f"kickoff_cancelled.{invite.sequence}", cancelled, now, calendar=invite)
        self._react("cancelled", now, {"reason": a.reason}, key="cancelled", reason=a.reason)
        self._out += [d.email for d in self.p.deferred]  # the last words go now: nothing waits after a cancel
        self.p.deferred = []
        keep = [e.key for e in self._out[start:] if isinstance(e, EmailRequest)]
        self._out.append(
            CancelRequest(
                workflow_id=self.contract.workflow_id,
                key_prefix=f"{self.p.ref}/",
                account_id=self.contract.account_id,
                by=a.by,
                reason=a.reason,
                at=now,
                keep=keep,
            )
        )

    def _correct_contact(self, a: CorrectContact, now: datetime) -> None:
        current = self.recipient(a.role)
        name = a.name or (current.name if current else self.contract.contact(a.role).name)
        self.p.contacts[a.role] = Contact(role=a.role, name=name, email=a.email)
        for esc in self.open_escalations():
            if esc.problem in (f"email_failed:refused:{a.role}", f"email_bounce:{a.role}"):
                self._resolve(esc, a.by, "address corrected", now)
