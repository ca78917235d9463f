"""How the journey says what must happen: emails, timeline rows and human tasks, as effects.

Rules call these helpers; `Journey.apply` and `Journey.tick` hand the collected effects to
the workflow. Keys are the onboarding's ref plus a touch or sequence id, so a redelivered
effect is performed once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from onboarding.effects import (
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
from onboarding.journey.state import Escalation
from onboarding.journey.where import Where
from onboarding.playbook import Escalate, Send


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

    def _react(self, trigger: str, sends: tuple[Send, ...], now: datetime, **context: Any) -> None:
        for send in sends:
            self._touch(f"{trigger}.{send.template}", send, now, **context)

    def _touch(self, touch_id: str, send: Send, now: datetime, to: Recipient | None = None, **context: Any) -> None:
        """Queue one email; its key makes it effectively-once, whatever retries happen."""
        recipient = to or self.recipient(send.to)
        if recipient is None:
            self._record(
                "event", "email_not_sent", "engine", now, to=send.to, detail=f"{send.template}: nobody assigned"
            )
            return
        self._out.append(
            EmailRequest(
                key=f"{self.p.ref}/{touch_id}",
                workflow_id=self.contract.workflow_id,
                account_id=self.contract.account_id,
                template=send.template,
                locale=self.contract.locale,
                to=recipient,
                context=view.email_context(self) | context,
                at=now,
                seq=self._next_seq(),
            )
        )

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
        esc_id = esc_id or f"{problem}.{self.p.seq}"
        if any(e.id == esc_id for e in self.p.escalations):
            return
        assignee = self.assignee(esc)
        self.p.escalations.append(
            Escalation(
                id=esc_id,
                problem=problem,
                rule=_rule(problem),
                reason=esc.reason,
                to=esc.to,
                assignee=assignee,
                opened_at=now,
                seq=self._next_seq(),
            )
        )
        self._out.append(
            EscalationRequest(
                key=f"{self.p.ref}/{esc_id}",
                workflow_id=self.contract.workflow_id,
                account_id=self.contract.account_id,
                rule=_rule(problem),
                reason=esc.reason,
                to=esc.to,
                assignee=assignee,
                opened_at=now,
            )
        )
        days_stalled = self.inactive_for(now).days
        notice = Send(template="escalation", to=esc.to)
        self._touch(
            f"{esc_id}.notify",
            notice,
            now,
            reason=esc.reason,
            rule=_rule(problem),
            days_stalled=days_stalled,
            escalation_id=esc_id,
            **context,
        )

    def _resolve(self, esc: Escalation, by: str, note: str, now: datetime) -> None:
        esc.resolved_at = now
        key = f"{self.p.ref}/{esc.id}"
        self._out.append(ResolveRequest(key=key, account_id=self.contract.account_id, by=by, note=note, at=now))


def _rule(problem: str) -> str:
    """The rule behind a problem: 'email_refused:champion' -> 'email_refused'."""
    return problem.split(":", 1)[0]
