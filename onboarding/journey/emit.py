"""How the journey says what must happen: emails, timeline rows and human tasks, as effects.

Rules call these helpers; `Journey.apply` and `Journey.tick` hand the collected effects to
the workflow. Keys are the onboarding's ref plus a touch or sequence id, so a redelivered
effect is performed once. Emails pass contact pressure first: one that may not reach its
person yet waits (deferred), one whose template already waits for that person is merged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.effects import (
    CalendarInvite,
    ClaimRequest,
    Effect,
    EmailRequest,
    EscalationRepeat,
    EscalationRequest,
    Recipient,
    ResolveRequest,
    TimelineEntry,
    TimelineKind,
)
from onboarding.journey import view
from onboarding.journey.pressure import allowed_at, next_slot
from onboarding.journey.state import Deferred, Escalation
from onboarding.journey.where import Where
from onboarding.playbook import Does, Escalate, Send, Task, text


class Emitter(Where):
    """A journey that collects the effects of what it does."""

    _out: list[Effect]

    def _next_seq(self) -> int:
        self.p.seq += 1
        return self.p.seq

    def _take(self) -> list[Effect]:
        out, self._out = self._out, []
        return out

    def _learn(self, fact: str, now: datetime) -> None:
        self.p.facts.setdefault(fact, now)

    def _record(
        self,
        kind: TimelineKind,
        name: str,
        actor: str,
        now: datetime,
        to: str | None = None,
        detail: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        seq = self._next_seq()
        self._out.append(
            TimelineEntry(
                key=f"{self.p.ref}:{seq}",
                seq=seq,
                account_id=self.contract.account_id,
                at=now,
                kind=kind,
                name=name,
                actor=actor,
                to=to,
                detail=detail,
                data=data or {},
            )
        )

    def _do(self, touch_id: str, rule: Does, now: datetime, problem: str, **context: Any) -> None:
        """What a timer or reaction does: its touch, escalation and task."""
        if rule.send:
            self._touch(touch_id, rule.send, now, **context)
        if rule.escalate:
            self._escalate(problem, rule.escalate, now, touch_id, **context)
        if rule.task:
            self._task(problem, rule.task, now, f"{touch_id}.task")

    def _touch(
        self,
        touch_id: str,
        send: Send,
        now: datetime,
        to: Recipient | None = None,
        calendar: CalendarInvite | None = None,
        **context: Any,
    ) -> None:
        """Queue one email; its key makes it effectively-once, whatever retries happen."""
        recipient = to or self.recipient(send.to)
        if recipient is None:
            self._record(
                "event", "email_not_sent", "engine", now, to=send.to, detail=f"{send.template}: nobody assigned"
            )
            return
        email = EmailRequest(
            key=f"{self.p.ref}/{touch_id}",
            workflow_id=self.contract.workflow_id,
            account_id=self.contract.account_id,
            template=send.template,
            locale=recipient.locale,
            to=recipient,
            context=view.email_context(self, recipient.locale) | context,
            at=now,
            seq=self._next_seq(),
            calendar=calendar,
        )
        self._deliver(email, now)

    def _deliver(self, email: EmailRequest, now: datetime) -> None:
        """Send now, or defer to the person's next slot, or merge into the same template waiting."""
        rule = self.playbook.pressure
        if rule is None:
            self._send(email)
            return
        address = email.to.email
        if email.template in ("escalation", "task"):  # each notice is its own: never merged nor spaced
            slot = allowed_at(rule, email.to.timezone, now)
            if slot <= now:
                self._send(email)
            else:
                self._defer(email, slot, now)
            return
        if rule.merge_same and any(
            d.email.to.email == address and d.email.template == email.template for d in self.p.deferred
        ):
            self._record(
                "merged", email.template, "engine", now, to=email.to.role, detail="the same email already waits"
            )
            return
        slot = next_slot(rule, email.to.timezone, now, self.p.last_emailed.get(address))
        if slot <= now and not any(d.email.to.email == address for d in self.p.deferred):
            self.p.last_emailed[address] = now
            self._send(email)
            return
        waiting = [d.not_before for d in self.p.deferred if d.email.to.email == address]
        if waiting:
            slot = next_slot(rule, email.to.timezone, max(waiting), max(waiting))
        self._defer(email, slot, now)

    def _defer(self, email: EmailRequest, slot: datetime, now: datetime) -> None:
        self.p.deferred.append(Deferred(not_before=slot, email=email))
        held = (slot - now).total_seconds() / 3600
        detail = f"held {held:.3g} h"
        self._record("deferred", email.template, "engine", now, to=email.to.role, detail=detail)

    def _release_deferred(self, now: datetime) -> None:
        """Deferred emails whose moment has come go, in the order they were deferred."""
        due = [d for d in self.p.deferred if d.not_before <= now]
        self.p.deferred = [d for d in self.p.deferred if d.not_before > now]
        for d in due:
            self.p.last_emailed[d.email.to.email] = now
            self._send(d.email.model_copy(update={"at": now}))

    def _send(self, email: EmailRequest) -> None:
        """The email leaves the journey now (a calendar invitation marks the kickoff as sent)."""
        if email.calendar and email.calendar.method == "REQUEST" and self.p.kickoff:
            self.p.kickoff.invited = True
        self._out.append(email)

    def _escalate(self, problem: str, esc: Escalate, now: datetime, esc_id: str | None = None, **context: Any) -> None:
        """Open a human task and tell its owner; the same problem while its task is open counts on that task."""
        same = next((e for e in self.open_escalations() if e.problem == problem), None)
        if same is not None:
            same.occurrences += 1
            same.last_seen_at = now
            key = f"{self.p.ref}/{same.id}"
            self._out.append(
                EscalationRepeat(key=key, account_id=self.contract.account_id, occurrences=same.occurrences, at=now)
            )
            return
        self._open(problem, esc.to, esc.reason, now, esc_id or f"{problem}.{self.p.seq}", None, **context)

    def _task(self, problem: str, task: Task, now: datetime, task_id: str) -> None:
        """A staff task: work to do by a due time, not a problem (health turns red only once overdue)."""
        self._open(problem, task.to, task.title, now, task_id, now + task.due)

    def _open(
        self,
        problem: str,
        to: str,
        texts: dict[str, str],
        now: datetime,
        esc_id: str,
        due_at: datetime | None,
        **context: Any,
    ) -> None:
        if any(e.id == esc_id for e in self.p.escalations):
            return
        kind = "task" if due_at else "escalation"
        assignee = self.assignee(to)
        staff = self.staff(to)
        reason = text(texts, "en")  # the records speak the admin tools' language; the notice, the person's
        self.p.escalations.append(
            Escalation(
                id=esc_id,
                problem=problem,
                rule=_rule(problem),
                reason=reason,
                to=to,
                assignee=assignee,
                opened_at=now,
                kind=kind,
                due_at=due_at,
            )
        )
        self._out.append(
            EscalationRequest(
                key=f"{self.p.ref}/{esc_id}",
                workflow_id=self.contract.workflow_id,
                account_id=self.contract.account_id,
                rule=_rule(problem),
                reason=reason,
                to=to,
                assignee=assignee,
                opened_at=now,
                kind=kind,
                due_at=due_at,
            )
        )
        notice = Send(template=kind, to=to)  # type: ignore[arg-type]  # staff roles are roles
        self._touch(
            f"{esc_id}.notify",
            notice,
            now,
            reason=text(texts, staff.locale if staff else "en"),
            rule=_rule(problem),
            days_stalled=self.inactive_for(now).days,
            escalation_id=esc_id,
            task_due_at=due_at.isoformat() if due_at else None,
            **context,
        )

    def _reassign_task(self, esc: Escalation, assignee: str, by: str, now: datetime) -> None:
        esc.assignee = assignee
        key = f"{self.p.ref}/{esc.id}"
        self._out.append(ClaimRequest(key=key, account_id=self.contract.account_id, assignee=assignee, by=by, at=now))

    def _resolve(self, esc: Escalation, by: str, note: str, now: datetime) -> None:
        esc.resolved_at = now
        key = f"{self.p.ref}/{esc.id}"
        self._out.append(ResolveRequest(key=key, account_id=self.contract.account_id, by=by, note=note, at=now))


def _rule(problem: str) -> str:
    """The rule behind a problem: 'email_refused:champion' -> 'email_refused'."""
    return problem.split(":", 1)[0]
