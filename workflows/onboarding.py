"""One customer's onboarding, from the signed contract to the last check-in.

The run reads like the playbook it runs: welcome the customer, then phase by phase wait for
what ends the phase while timers nudge, remind and escalate; on success celebrate, hand over
and keep checking in. Handlers only change state and queue effects; the main loop performs
the effects (activities) in order, so every touch happens once and in sequence.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from onboarding import effects
    from onboarding.effects import EmailRequest, EscalationRequest, Recipient, ResolveRequest, TimelineEntry
    from onboarding.journey import Escalation, Interval, Journey, OnboardingInput, Progress, describe
    from onboarding.models import (
        VENDOR_ROLES,
        Cancel,
        EmailFeedback,
        HumanTouch,
        Invite,
        KickoffDone,
        ModuleCompleted,
        Pause,
        ProductEvent,
        Reassign,
        ResolveEscalation,
        Resume,
        StaffMember,
        Status,
        StepAction,
        SuccessCriteriaMet,
    )
    from onboarding.playbook import Escalate, Send
    from workflows import attributes

Effect = EmailRequest | EscalationRequest | ResolveRequest | TimelineEntry

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))
TIMELINE_AS_LOCAL_ACTIVITY = "timeline-as-local-activity"
REFUSED_NOTICE_NOT_ESCALATED = "refused-escalation-notice-is-not-escalated"
CADENCE_ACTS_BETWEEN_CHECK_INS = "cadence-acts-between-check-ins"
HEALTH_RECORDED_AT_ONCE = "health-recorded-at-once"


def _day(at: datetime | None) -> str:
    return f"{at:%a %-d %b}" if at else "-"


@workflow.defn
class OnboardingWorkflow:
    @workflow.init
    def __init__(self, input: OnboardingInput) -> None:
        now = workflow.now()
        progress = input.progress or Progress(phase_started_at=now, last_activity_at=now)
        self.j = Journey(input.contract, input.playbook, progress)
        self.effects: list[Effect] = []
        self.changes = 0
        self.shown: dict[str, Any] = {}

    @property
    def p(self) -> Progress:
        return self.j.p

    # ---- the playbook, run ---------------------------------------------------------------

    @workflow.run
    async def run(self, input: OnboardingInput) -> Status:
        workflow.set_current_details("Assigning the team")
        if input.progress is None:
            await self.contract_signed()
        if self.p.outcome == "active":
            await self.onboard()
        if self.p.outcome == "completed":
            if input.progress is None or input.progress.outcome == "active":
                self.continue_as_new("Onboarding complete; the check-in cadence starts")
            await self.check_in_cadence()
        return self.status()

    async def contract_signed(self) -> None:
        """Assign the team, welcome the customer and note what the hand-over form already covers."""
        contract = self.j.contract
        assignment = await workflow.execute_activity(
            effects.ASSIGN_TEAM,
            effects.AssignRequest(
                workflow_id=workflow.info().workflow_id,
                account_id=contract.account_id,
                company=contract.company,
                segment=self.j.playbook.segment,
                locale=contract.locale,
                acv=contract.acv,
                employees=contract.employees,
                signed_at=self.j.signed_at,
            ),
            result_type=effects.Assignment,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=f"Assign a {self.j.playbook.segment} team",
        )
        self.p.team = assignment.team
        if assignment.over_capacity:
            self.escalate("capacity", "capacity", Escalate(to="cs_manager", reason=assignment.over_capacity))
        if contract.handover.complete:
            self.p.facts["touch:sales_handover"] = self.j.signed_at
        self.record("phase", self.j.phase.id, "engine", detail=f"{self.j.phase.title} begins")
        self.shown["health"] = "green"
        self.react("signed", self.j.playbook.reactions.signed)
        for send in self.j.phase.on_enter:
            self.touch(f"{self.j.phase.id}.enter.{send.template}", send)

    async def onboard(self) -> None:
        """Phase by phase until success or cancellation; timers fire while we wait."""
        while True:
            seen = self.changes
            until = self.p.paused_until
            if self.j.paused and until and workflow.now() >= until:
                self.resume_now("engine")
            self.fire_due_timers()
            self.advance_phases()
            if workflow.patched(HEALTH_RECORDED_AT_ONCE):
                await self.show_and_perform()
            else:
                await self.perform()
                self.show()
            if self.p.outcome != "active" or self.p.completed_at:
                return
            await self.wait_for_change(seen, self.j.next_wake(workflow.now()))

    async def show_and_perform(self) -> None:
        """Show the state (details, search attributes, a health change for the timeline) and
        perform what is queued, until nothing is left: a refused email can escalate, and a
        health change is recorded now, not at the next wake."""
        self.show()
        while self.effects:
            await self.perform()
            self.show()

    async def check_in_cadence(self) -> None:
        """After onboarding: weekly, then monthly, then quarterly check-ins, until cancelled.
        CSM actions in between (resolving an escalation, reassigning) take effect at once."""
        when = self.next_check_in()
        acts_between = workflow.patched(CADENCE_ACTS_BETWEEN_CHECK_INS)
        while self.p.outcome == "completed":
            workflow.set_current_details(f"Onboarding complete. Next check-in {_day(when)}.")
            updates = self.attribute_updates(workflow.now())
            if updates:
                workflow.upsert_search_attributes(updates)
            try:
                await workflow.wait_condition(
                    lambda: self.p.outcome == "cancelled" or (acts_between and bool(self.effects)),
                    timeout=when - workflow.now(),
                    timeout_summary="next check-in",
                )
            except TimeoutError:
                self.p.check_ins_sent += 1
                self.touch(
                    f"check_in.{self.p.check_ins_sent}",
                    Send(template=self.j.playbook.post_onboarding_template, to="champion"),
                )
                await self.perform()
                self.continue_as_new(f"Check-in {self.p.check_ins_sent} sent")
            await self.perform()

    def next_check_in(self) -> datetime:
        assert self.p.completed_at
        at, sent = self.p.completed_at, self.p.check_ins_sent
        for stage in self.j.playbook.check_ins:
            times = stage.times if stage.times is not None else sent + 1
            for _ in range(times):
                at += stage.every
                if sent == 0:
                    return at
                sent -= 1
        raise AssertionError("the last check-in stage repeats forever")

    def continue_as_new(self, why: str) -> None:
        workflow.logger.info("Continuing as new: %s", why)
        workflow.continue_as_new(
            OnboardingInput(
                contract=self.j.contract,
                playbook=self.j.playbook,
                progress=self.p,
            )
        )

    # ---- timers, phases, completion ------------------------------------------------------

    def fire_due_timers(self) -> None:
        now = workflow.now()
        while (due := next(iter(self.j.next_due()), None)) and due.at <= now:
            self.j.mark_fired(due)
            if due.timer.send:
                self.touch(due.touch_id, due.timer.send, rule=due.key)
            if due.timer.escalate:
                self.escalate(due.touch_id, due.key, due.timer.escalate)

    def advance_phases(self) -> None:
        now = workflow.now()
        if self.j.has("success") and not self.p.completed_at:
            self.complete(now)
            return
        while self.p.outcome == "active" and self.j.phase_can_end(now):
            phase = self.j.phase
            for send in phase.on_exit:
                self.touch(f"{phase.id}.exit.{send.template}", send)
            if self.p.phase_index == len(self.j.playbook.phases) - 1:
                self.complete(now)
                return
            self.p.phase_index += 1
            self.p.phase_started_at = now
            nxt = self.j.phase
            self.record("phase", nxt.id, "engine", detail=f"{phase.title} done; {nxt.title} begins")
            for send in nxt.on_enter:
                self.touch(f"{nxt.id}.enter.{send.template}", send)

    def complete(self, now: datetime) -> None:
        self.p.outcome = "completed"
        self.p.completed_at = now
        self.react("success", self.j.playbook.reactions.success)
        self.record(
            "completed",
            "onboarding_complete",
            "engine",
            detail=f"time to first value: {self.j.days_to_first_value()} days",
        )

    # ---- effects: queued by handlers, performed by the main loop ---------------------------

    def next_key(self) -> str:
        self.p.seq += 1
        return f"{workflow.info().workflow_id}:{self.p.seq}"

    def record(
        self, kind: effects.TimelineKind, name: str, actor: str, to: str | None = None, detail: str = ""
    ) -> None:
        self.effects.append(
            TimelineEntry(
                key=self.next_key(),
                account_id=self.j.contract.account_id,
                at=workflow.now(),
                kind=kind,
                name=name,
                actor=actor,
                to=to,
                detail=detail,
            )
        )

    def react(self, trigger: str, sends: tuple[Send, ...], **context: Any) -> None:
        for send in sends:
            self.touch(f"{trigger}.{send.template}", send, **context)

    def recipient(self, role: str) -> Recipient:
        contract, team = self.j.contract, self.p.team
        if role == "sales_rep":
            person: Any = contract.sales_rep
        elif role in VENDOR_ROLES:
            assert team is not None
            person = getattr(team, role, None) or team.csm
        else:
            person = contract.contact(role)
        return Recipient(role=role, name=person.name, email=person.email)

    def touch(self, touch_id: str, send: Send, to: Recipient | None = None, **context: Any) -> None:
        """Queue one email; its key makes it effectively-once, whatever retries happen."""
        wf = workflow.info().workflow_id
        self.effects.append(
            EmailRequest(
                key=f"{wf}/{touch_id}",
                workflow_id=wf,
                account_id=self.j.contract.account_id,
                template=send.template,
                locale=self.j.contract.locale,
                to=to or self.recipient(send.to),
                context=self.context() | context,
                at=workflow.now(),
            )
        )

    def context(self) -> dict[str, Any]:
        j, team = self.j, self.p.team
        done, pending, skipped = j.steps()
        return {
            "company": j.contract.company,
            "segment": j.playbook.segment,
            "phase": j.phase.title,
            "phase_number": j.p.phase_index + 1,
            "phase_count": len(j.playbook.phases),
            "steps_done": len(done),
            "steps_total": len(done) + len(pending) + len(skipped),
            "steps_pending": [s.title for p in j.playbook.phases for s in p.steps if s.id in pending],
            "modules_done": len(j.modules_done()),
            "modules_total": len(j.playbook.modules),
            "next_module": j.next_module(),
            "success_criteria": list(j.contract.success_criteria),
            "signed_at": j.signed_at.isoformat(),
            "due_at": j.due_at().isoformat(),
            "csm_name": team.csm.name if team else "",
            "csm_email": team.csm.email if team else "",
            "champion_name": j.contract.contact("champion").name,
        }

    def escalate(self, esc_id: str, rule: str, esc: Escalate, **context: Any) -> None:
        """Open a human task and tell the person who owns it."""
        if any(e.id == esc_id for e in self.p.escalations):
            return
        now = workflow.now()
        assignee = self.j.assignee(esc)
        self.p.escalations.append(
            Escalation(
                id=esc_id,
                rule=rule,
                reason=esc.reason,
                to=esc.to,
                assignee=assignee,
                opened_at=now,
            )
        )
        wf = workflow.info().workflow_id
        self.effects.append(
            EscalationRequest(
                key=f"{wf}/{esc_id}",
                workflow_id=wf,
                account_id=self.j.contract.account_id,
                rule=rule,
                reason=esc.reason,
                to=esc.to,
                assignee=assignee,
                opened_at=now,
            )
        )
        days_stalled = self.j.inactive_for(now).days
        self.touch(
            f"{esc_id}.notify",
            Send(template="escalation", to=esc.to),
            reason=esc.reason,
            rule=rule,
            days_stalled=days_stalled,
            **context,
        )

    async def perform(self) -> None:
        """Carry out queued effects in order; timeline entries travel in batches."""
        while self.effects:
            effect = self.effects.pop(0)
            if isinstance(effect, TimelineEntry):
                batch = [effect]
                while self.effects and isinstance(self.effects[0], TimelineEntry):
                    batch.append(self.effects.pop(0))  # type: ignore[arg-type]
                await self.record_timeline(batch)
            elif isinstance(effect, EmailRequest):
                await self.send(effect)
            elif isinstance(effect, EscalationRequest):
                await self.activity(effects.OPEN_ESCALATION, effect, f"Escalate to {effect.to}: {effect.reason}")
            else:
                await self.activity(effects.RESOLVE_ESCALATION, effect, "Resolve escalation")

    async def record_timeline(self, batch: list[TimelineEntry]) -> None:
        """Timeline rows are quick, idempotent database writes. Since the patch they run as a local
        activity (one marker event in the history) instead of a scheduled activity plus a
        workflow-task round trip; runs started before it keep the old path when they replay."""
        summary = f"Record {len(batch)} timeline entries"
        if workflow.patched(TIMELINE_AS_LOCAL_ACTIVITY):
            await workflow.execute_local_activity(
                effects.RECORD_TIMELINE,
                batch,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=summary,
            )
        else:
            await self.activity(effects.RECORD_TIMELINE, batch, summary)

    async def send(self, email: EmailRequest) -> None:
        try:
            await self.activity(effects.SEND_EMAIL, email, f"Email {email.template} to {email.to.role}")
        except ActivityError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.non_retryable):
                raise
            if email.template == "escalation" and workflow.patched(REFUSED_NOTICE_NOT_ESCALATED):
                # The human task behind this notice is open already: escalating the refused
                # notice would send another notice through the same refusing provider, forever.
                self.record("event", "email_failed", "engine", to=email.to.role, detail=cause.message)
                return
            # A permanent refusal (bad address, rejected content): a person must fix it.
            touch = email.key.split("/", 1)[1]
            self.escalate(
                f"email_failed.{touch}",
                "email_failed",
                Escalate(
                    to="csm",
                    reason=f"Email '{email.template}' to the {email.to.role} was refused: {cause.message}",
                ),
            )

    async def activity(self, name: str, arg: Any, summary: str) -> None:
        await workflow.execute_activity(
            name,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=summary[:200],
        )

    async def wait_for_change(self, seen: int, wake: datetime | None) -> None:
        if self.changes != seen:
            return
        timeout = (wake - workflow.now()) if wake else None
        if timeout is not None and timeout <= timedelta():
            return
        nxt = self.j.next_due()[:1]
        summary = describe(nxt[0].timer) if nxt and nxt[0].at == wake else "next check"
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self.changes != seen, timeout=timeout, timeout_summary=summary)

    # ---- what ops see --------------------------------------------------------------------

    def status(self) -> Status:
        return self.j.status(workflow.now())

    def show(self) -> None:
        """Keep current details and search attributes in step with the state."""
        now = workflow.now()
        health, reason = self.j.health(now)
        if health != self.shown.get("health"):
            if "health" in self.shown:
                self.record("health", health, "engine", detail=reason)
            self.shown["health"] = health
        workflow.set_current_details(self.details(now))
        updates = self.attribute_updates(now)
        if updates:
            workflow.upsert_search_attributes(updates)

    def details(self, now: datetime) -> str:
        j = self.j
        if j.paused:
            until = f" until {_day(j.p.paused_until)}" if j.p.paused_until else ""
            return f"Paused{until}. Nudges and escalations wait; deadlines move by the paused time."
        phase = f"{j.phase.title} (phase {j.p.phase_index + 1} of {len(j.playbook.phases)})"
        waits = j.phase_waits_for()
        lines = [f"{phase}. Waiting for: {', '.join(waits) if waits else 'the phase end date'}."]
        upcoming = j.next_due()[:3]
        if upcoming:
            lines.append("Next: " + "; ".join(f"{describe(d.timer)} {_day(d.at)}" for d in upcoming) + ".")
        open_ = j.open_escalations()
        if open_:
            lines.append(f"Open escalations: {len(open_)} ({open_[0].reason}).")
        return "\n".join(lines)

    def attribute_updates(self, now: datetime) -> list[SearchAttributeUpdate[Any]]:
        j = self.j
        values: dict[Any, Any] = {
            attributes.PHASE: j.phase.id if j.p.outcome == "active" and not j.p.completed_at else j.p.outcome,
            attributes.HEALTH: j.health(now)[0],
            attributes.OWNER: j.p.team.csm.id if j.p.team else "unassigned",
            attributes.DUE_AT: j.due_at(),
            attributes.ESCALATED: bool(j.open_escalations()),
            attributes.PAUSED: j.paused,
        }
        updates = [key.value_set(v) for key, v in values.items() if self.shown.get(key.name) != v]
        self.shown.update({key.name: v for key, v in values.items()})
        return updates

    @workflow.query
    def get_status(self) -> Status:
        return self.status()

    # ---- product events (signals) ----------------------------------------------------------

    @workflow.signal
    async def product_event(self, event: ProductEvent) -> None:
        await self.team_assigned()
        if not self.first_time(event.id):
            return
        now = workflow.now()
        self.changes += 1
        detail = event.action or ""
        if event.name == "survey_answer":
            detail = f"goal reached: {'yes' if event.goal_reached else 'no'}; CSAT {event.csat}; CES {event.ces}"
        self.record("event", event.name, "customer", detail=detail)
        if self.p.outcome != "active":
            return
        if event.name != "support_ticket":
            self.p.last_activity_at = now
        self.learn(event.name, now)
        if event.action:
            self.learn(f"key_action:{event.action}", now)
        flags = self.j.playbook.red_flags
        if event.name == "survey_answer":
            self.learn("survey_answered", now)
            if event.goal_reached:
                self.learn("goal_reached", now)
            elif flags.goal_not_reached:
                self.escalate(f"red_flag.goal_not_reached.{self.p.seq}", "goal_not_reached", flags.goal_not_reached)
            if event.csat is not None and event.csat <= flags.low_csat_at_most and flags.low_csat:
                self.escalate(f"red_flag.low_csat.{self.p.seq}", "low_csat", flags.low_csat)
        if event.name == "support_ticket":
            window = flags.support_load_threshold
            self.p.tickets = [t for t in self.p.tickets if now - t < window.within] + [now]
            if len(self.p.tickets) >= window.tickets and flags.support_load:
                self.escalate(f"red_flag.support_load.{self.p.seq}", "support_load", flags.support_load)
                self.p.tickets = []

    @workflow.signal
    async def email_feedback(self, feedback: EmailFeedback) -> None:
        """Opens and clicks count as activity; a hard bounce or spam report needs a person."""
        await self.team_assigned()
        if not self.first_time(feedback.id):
            return
        now = workflow.now()
        self.changes += 1
        self.record("event", f"email_{feedback.kind}", "provider", to=feedback.role, detail=feedback.template or "")
        if self.p.outcome != "active":
            return
        if feedback.kind in ("open", "click"):
            self.p.last_activity_at = now
        elif feedback.kind in ("bounce", "spam_report"):
            who = feedback.role or "a recipient"
            what = "bounced" if feedback.kind == "bounce" else "was reported as spam"
            self.escalate(
                f"email_{feedback.kind}.{self.p.seq}",
                f"email_{feedback.kind}",
                Escalate(
                    to="csm",
                    reason=f"Email to {who} {what}: check the address and reach out another way",
                ),
            )

    def first_time(self, delivery_id: str | None) -> bool:
        """Deduplicate redelivered signals by their delivery id (the last 500 are remembered)."""
        if delivery_id is None:
            return True
        if delivery_id in self.p.seen_events:
            return False
        self.p.seen_events = [*self.p.seen_events[-499:], delivery_id]
        return True

    async def team_assigned(self) -> None:
        """Handlers act once the team is known, so every touch and escalation has someone to address."""
        await workflow.wait_condition(lambda: self.p.team is not None)

    def learn(self, fact: str, now: datetime) -> None:
        self.p.facts.setdefault(fact, now)

    # ---- CSM actions (updates, each with a validator) --------------------------------------

    def acted(self, action: str, by: str, detail: str = "", progress: bool = True) -> Status:
        """Record the action and apply its consequences, so the reply shows where things now stand."""
        now = workflow.now()
        self.changes += 1
        if progress:
            self.p.last_activity_at = now
        self.record("action", action, by, detail=detail)
        if self.p.outcome == "active" and not self.j.paused:
            self.advance_phases()
        return self.status()

    def must_be_active(self) -> None:
        if self.p.outcome == "cancelled":
            raise ValueError("the onboarding is cancelled")
        if self.p.completed_at:
            raise ValueError(f"the onboarding is already complete (since {self.p.completed_at:%Y-%m-%d})")

    def must_know_step(self, step_id: str) -> None:
        step = self.j.playbook.step(step_id)
        if step is None:
            ids = ", ".join(s.id for p in self.j.playbook.phases for s in p.steps)
            raise ValueError(f"unknown step {step_id!r}; this playbook's steps: {ids}")
        if self.j.step_done(step):
            raise ValueError(f"step {step_id!r} is already done")

    @workflow.update
    async def kickoff_done(self, action: KickoffDone) -> Status:
        await self.team_assigned()
        self.learn("kickoff_done", workflow.now())
        self.react("kickoff_done", self.j.playbook.reactions.kickoff_done, kickoff_notes=action.notes)
        return self.acted("kickoff_done", action.by, action.notes)

    @kickoff_done.validator
    def _kickoff_done(self, action: KickoffDone) -> None:
        self.must_be_active()
        if self.j.has("kickoff_done"):
            raise ValueError(f"kickoff is already recorded as done (on {self.p.facts['kickoff_done']:%Y-%m-%d})")

    @workflow.update
    async def module_completed(self, action: ModuleCompleted) -> Status:
        await self.team_assigned()
        title = next(m.title for m in self.j.playbook.modules if m.id == action.module)
        self.learn(f"module:{action.module}", workflow.now())
        for send in self.j.playbook.reactions.module_completed:
            self.touch(f"module_completed.{action.module}.{send.template}", send, module_title=title)
        return self.acted("module_completed", action.by, action.module)

    @module_completed.validator
    def _module_completed(self, action: ModuleCompleted) -> None:
        self.must_be_active()
        modules = self.j.playbook.module_ids()
        if action.module not in modules:
            raise ValueError(f"unknown module {action.module!r}; this playbook's modules: {', '.join(modules)}")
        if self.j.has(f"module:{action.module}"):
            raise ValueError(f"module {action.module!r} is already completed")

    @workflow.update
    async def success_criteria_met(self, action: SuccessCriteriaMet) -> Status:
        await self.team_assigned()
        self.learn("success_criteria_met", workflow.now())
        return self.acted("success_criteria_met", action.by, action.evidence)

    @success_criteria_met.validator
    def _success_criteria_met(self, action: SuccessCriteriaMet) -> None:
        self.must_be_active()

    @workflow.update
    async def complete_step(self, action: StepAction) -> Status:
        await self.team_assigned()
        step = self.j.playbook.step(action.step)
        assert step
        self.learn(step.fact, workflow.now())
        return self.acted("complete_step", action.by, action.step)

    @complete_step.validator
    def _complete_step(self, action: StepAction) -> None:
        self.must_be_active()
        self.must_know_step(action.step)

    @workflow.update
    async def skip_step(self, action: StepAction) -> Status:
        await self.team_assigned()
        self.p.skipped.append(action.step)
        return self.acted("skip_step", action.by, action.step)

    @skip_step.validator
    def _skip_step(self, action: StepAction) -> None:
        self.must_be_active()
        self.must_know_step(action.step)
        step = self.j.playbook.step(action.step)
        if step and not step.skippable:
            raise ValueError(f"step {action.step!r} cannot be skipped")
        if action.step in self.p.skipped:
            raise ValueError(f"step {action.step!r} is already skipped; it can still be done later")

    @workflow.update
    async def invite(self, action: Invite) -> Status:
        await self.team_assigned()
        step = self.j.playbook.step(action.step)
        assert step
        self.p.invites_sent += 1
        colleague = Recipient(role="colleague", name=action.name, email=action.email)
        self.touch(
            f"invite.{self.p.invites_sent}",
            Send(template="colleague_invitation", to="colleague"),
            to=colleague,
            step_title=step.title,
            inviter_name=self.j.contract.contact("champion").name,
            invitee_role=action.role,
        )
        return self.acted("invite", action.by, f"{action.step} ({action.role})", progress=False)

    @invite.validator
    def _invite(self, action: Invite) -> None:
        self.must_be_active()
        self.must_know_step(action.step)

    @workflow.update
    async def pause(self, action: Pause) -> Status:
        await self.team_assigned()
        self.p.paused_at = workflow.now()
        self.p.paused_until = action.until
        self.record("paused", "paused", action.by, detail=action.reason)
        return self.acted("pause", action.by, action.reason, progress=False)

    @pause.validator
    def _pause(self, action: Pause) -> None:
        self.must_be_active()
        if self.j.paused:
            raise ValueError("the onboarding is already paused; resume it first")
        if action.until and action.until <= workflow.now():
            raise ValueError("until: expected a time in the future")

    @workflow.update
    async def resume(self, action: Resume) -> Status:
        await self.team_assigned()
        self.resume_now(action.by)
        return self.acted("resume", action.by, progress=False)

    @resume.validator
    def _resume(self, action: Resume) -> None:
        self.must_be_active()
        if not self.j.paused:
            raise ValueError("the onboarding is not paused")

    def resume_now(self, by: str) -> None:
        assert self.p.paused_at
        now = workflow.now()
        self.p.pauses.append(Interval(start=self.p.paused_at, end=now))
        self.p.paused_at = self.p.paused_until = None
        self.record("resumed", "resumed", by, detail=f"paused for {(now - self.p.pauses[-1].start).days} days")

    @workflow.update
    async def reassign(self, action: Reassign) -> Status:
        await self.team_assigned()
        try:
            staff = await workflow.execute_activity(
                effects.FIND_STAFF,
                action.owner,
                result_type=StaffMember,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=f"Find {action.owner}",
            )
        except ActivityError as err:
            # The roster's own words ("owner: no active CSM with id ..."), not "Activity task failed".
            reason = err.cause.message if isinstance(err.cause, ApplicationError) else str(err)
            raise ApplicationError(reason, type="UnknownStaff", non_retryable=True) from None
        assert self.p.team
        self.p.team = self.p.team.model_copy(update={"csm": staff})
        return self.acted("reassign", action.by, action.owner, progress=False)

    @reassign.validator
    def _reassign(self, action: Reassign) -> None:
        if self.p.outcome == "cancelled":
            raise ValueError("the onboarding is cancelled")
        if self.p.team and self.p.team.csm.id == action.owner:
            raise ValueError(f"{action.owner} already owns this onboarding")

    @workflow.update
    async def cancel(self, action: Cancel) -> Status:
        await self.team_assigned()
        self.p.outcome = "cancelled"
        self.record("cancelled", action.reason, action.by, detail=action.note)
        return self.acted("cancel", action.by, action.reason, progress=False)

    @cancel.validator
    def _cancel(self, action: Cancel) -> None:
        if self.p.outcome == "cancelled":
            raise ValueError("the onboarding is already cancelled")

    @workflow.update
    async def log_touch(self, action: HumanTouch) -> Status:
        await self.team_assigned()
        self.learn(f"touch:{action.touch}", workflow.now())
        return self.acted("log_touch", action.by, f"{action.touch}: {action.note}".rstrip(": "), progress=False)

    @log_touch.validator
    def _log_touch(self, action: HumanTouch) -> None:
        self.must_be_active()

    @workflow.update
    async def resolve_escalation(self, action: ResolveEscalation) -> Status:
        await self.team_assigned()
        esc = next(e for e in self.p.escalations if e.id == action.escalation)
        esc.resolved_at = workflow.now()
        wf = workflow.info().workflow_id
        self.effects.append(
            ResolveRequest(
                key=f"{wf}/{esc.id}",
                account_id=self.j.contract.account_id,
                by=action.by,
                note=action.note,
                at=esc.resolved_at,
            )
        )
        return self.acted("resolve_escalation", action.by, f"{esc.id}: {action.note}", progress=False)

    @resolve_escalation.validator
    def _resolve_escalation(self, action: ResolveEscalation) -> None:
        open_ = [e.id for e in self.j.open_escalations()]
        if action.escalation not in open_:
            raise ValueError(f"no open escalation {action.escalation!r}; open: {', '.join(open_) or 'none'}")
