"""One customer's onboarding, from the signed contract to the last check-in.

The journey (onboarding.journey) decides everything; this workflow only orchestrates. Every
message from the catalogue arrives through one update handler (CSM actions, validated by
`check`) or one signal handler (product events, email feedback); a handler calls `apply` at
once and queues the effects. The main loop lets the clock `tick`, shows where things stand
and waits. Effects run in two lanes (emails, records), so a failing email never holds back
the rest. Before continuing as new or returning, the run lets every handler finish and
performs what is left.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from activities.email import Mailer
    from activities.team import Staffing
    from onboarding.effects import (
        Assignment,
        AssignRequest,
        CancelRequest,
        Effect,
        EmailRequest,
        TimelineEntry,
    )
    from onboarding.journey import (
        EmailFailed,
        Journey,
        OnboardingInput,
        OwnerFound,
        Progress,
        Refused,
        TeamAssigned,
        describe,
        view,
    )
    from onboarding.journey.plan import Plan, plan
    from onboarding.journey.state import EngineMessage, onboarding_ref
    from onboarding.messages import Message, Reassign
    from onboarding.models import StaffMember, Status
    from workflows import attributes
    from workflows.alarm import Alarm
    from workflows.inbox import decode
    from workflows.lanes import Lane
    from workflows.outside import for_outside, tell
    from workflows.records import ACTIVITY_TIMEOUT, RETRY, WAIT_FOR_STAFF, record

HISTORY_LIMIT = 400
"""Continue as new past this many history events (Temporal warns at 10,240 and stops at 51,200).

Short runs keep a rebuild cheap: a worker replays the whole run when it takes up an evicted
onboarding, so the enterprise worst case replays at most about 420 events instead of 900.
Runs that started before (without the `short-runs` patch) keep their limit of 2,000."""


@workflow.defn
class OnboardingWorkflow:
    """With Worker Versioning (deployment.py), pinned to the worker build it started on: the
    worker's default behavior, not declared here, since an unversioned worker may not send one.
    Each continue-as-new starts the next run on the deployment's current build (AUTO_UPGRADE)."""

    @workflow.init
    def __init__(self, input: OnboardingInput) -> None:
        now, info = workflow.now(), workflow.info()
        ref = onboarding_ref(info.workflow_id, info.run_id)  # only a first run starts without progress
        signed = input.contract.signed_at or now
        fresh = Progress(ref=ref, phase_started_at=now, last_activity_at=signed)  # quiet since signing
        self.journey = Journey(input.contract, input.playbook, input.progress or fresh)
        self.mail: Lane[Effect] = Lane(self._send, lambda a, b: False)
        self.one_batch = workflow.patched("records-in-one-batch")
        self.next_action_shown = workflow.patched("next-action-attributes")
        self.playbook_shown = workflow.patched("playbook-version-attribute")
        self.alarm = Alarm() if workflow.patched("one-alarm") else None
        self.history_limit = HISTORY_LIMIT if workflow.patched("short-runs") else 2_000
        self.records: Lane[Effect] = Lane(
            self._record, lambda a, b: self.one_batch or (isinstance(a, TimelineEntry) and type(a) is type(b))
        )
        self.chat, self.crm = input.chat, input.crm
        self.outside: Lane[Effect] = Lane(tell, lambda a, b: False)
        self.changes = 0
        self.shown: dict[str, Any] = {}

    # ---- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: OnboardingInput) -> Status:
        j = self.journey
        began = (j.p.outcome, j.p.check_ins_sent)
        if not j.p.signed_in:
            await self._assign_team()
        waiting_for_staff = (
            workflow.start_activity_method(
                Staffing.assign_team,
                self._assign_request(wait=True),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=WAIT_FOR_STAFF,
                summary="Wait until someone in the roster can take this onboarding",
            )
            if j.p.team is None and j.onboarding
            else None
        )
        while True:
            self.apply_effects(j.tick(workflow.now()))
            self.show()
            if waiting_for_staff is not None and waiting_for_staff.done():
                self.apply(TeamAssigned(assignment=waiting_for_staff.result()))
                waiting_for_staff = None
                continue
            if (
                j.p.outcome == "cancelled"
                or (j.p.outcome, j.p.check_ins_sent) != began
                or self._time_to_continue_as_new()
            ):
                break
            await self._wait_for_change(waiting_for_staff)
        if waiting_for_staff is not None:
            waiting_for_staff.cancel()
        if self.alarm is not None:
            self.alarm.stop()
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and self.mail.idle and self.records.idle and self.outside.idle
        )
        self.show()
        if j.p.outcome != "cancelled":
            workflow.continue_as_new(
                OnboardingInput(contract=j.contract, playbook=j.playbook, progress=j.p, chat=self.chat, crm=self.crm),
                initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
            )
        return view.status(j, workflow.now())

    async def _assign_team(self) -> None:
        """Ask the roster for a team; with nobody free the onboarding starts unassigned."""
        found = await workflow.execute_activity_method(
            Staffing.assign_team,
            self._assign_request(wait=False),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
            summary=f"Assign the {self.journey.playbook.segment} team",
        )
        self.apply(TeamAssigned(assignment=found))

    def _assign_request(self, wait: bool) -> AssignRequest:
        c = self.journey.contract
        return AssignRequest(
            workflow_id=c.workflow_id,
            account_id=c.account_id,
            company=c.company,
            segment=self.journey.playbook.segment,
            locale=c.locale,
            acv=c.acv,
            employees=c.employees,
            signed_at=self.journey.signed_at,
            wait_for_staff=wait,
        )

    def _time_to_continue_as_new(self) -> bool:
        """A long history. (A new worker build made current is no reason: a run stays on its build
        and the next run, started at completion or a long history, moves to the current one.)"""
        info = workflow.info()
        return info.is_continue_as_new_suggested() or info.get_current_history_length() >= self.history_limit

    async def _wait_for_change(self, waiting_for_staff: workflow.ActivityHandle[Assignment] | None) -> None:
        seen, now = self.changes, workflow.now()
        wake = self.journey.next_wake(now)
        if wake is not None and wake <= now:
            return
        nxt = self.journey.next_due()[:1]
        summary = describe(nxt[0].timer) if nxt and nxt[0].at == wake else "next check"
        staffed = waiting_for_staff.done if waiting_for_staff is not None else lambda: False
        if self.alarm is not None:
            alarm = self.alarm
            alarm.set(wake, summary)
            await workflow.wait_condition(lambda: self.changes != seen or staffed() or alarm.rung)
            return
        with contextlib.suppress(TimeoutError):  # runs from before the one alarm
            await workflow.wait_condition(
                lambda: self.changes != seen or staffed(),
                timeout=(wake - now) if wake else None,
                timeout_summary=summary,
            )

    # ---- messages ------------------------------------------------------------------------

    def apply(self, message: Message | EngineMessage) -> None:
        """Apply a message to the journey now and queue its effects; a cancel drops queued email."""
        self.apply_effects(self.journey.apply(message, workflow.now()))
        self.changes += 1

    def apply_effects(self, effects: list[Effect]) -> None:
        """Queue effects on their lanes; a cancellation drops the emails still queued, and only
        what the cancellation itself sends (its last words) goes after it."""
        if any(isinstance(e, CancelRequest) for e in effects):
            self.mail.drop()
        self.mail.push([e for e in effects if isinstance(e, EmailRequest)])
        self.records.push([e for e in effects if not isinstance(e, EmailRequest)])
        self.outside.push(for_outside(effects, self.chat, self.crm))

    @workflow.update(dynamic=True)
    async def act(self, name: str, args: Sequence[RawValue]) -> Status:
        """Every CSM action of the catalogue: applied at once, refused with its reason if it no longer fits."""
        action = decode(name, args, "update")
        try:
            self.apply(action)
            if isinstance(action, Reassign) and not self.journey.seen(action):
                self.apply(OwnerFound(action=action, staff=await self._find_staff(action.owner)))
        except Refused as e:
            raise ApplicationError(str(e), type="Refused", non_retryable=True) from None
        return view.status(self.journey, workflow.now())

    @act.validator
    def check(self, name: str, args: Sequence[RawValue]) -> None:
        self.journey.check(decode(name, args, "update"), workflow.now())

    @workflow.signal(dynamic=True)
    def receive(self, name: str, args: Sequence[RawValue]) -> None:
        """Product events and email feedback: facts, recorded whatever the state; never refused."""
        try:
            message = decode(name, args, "signal")
        except ValueError as e:
            workflow.logger.warning("signal ignored: %s", str(e).split("\n", 1)[0])
            return
        self.apply(message)

    async def _find_staff(self, owner: str) -> StaffMember:
        try:
            return await workflow.execute_activity_method(
                Staffing.find_staff,
                owner,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
                summary=f"Find {owner}",
            )
        except ActivityError as err:
            # The roster's own words ("owner: no active CSM with id ..."), not "Activity task failed".
            raise Refused(err.cause.message if isinstance(err.cause, ApplicationError) else str(err)) from None

    @workflow.query
    def get_status(self) -> Status:
        return view.status(self.journey, workflow.now())

    @workflow.query
    def get_state(self) -> OnboardingInput:
        """The contract, the playbook snapshot and the progress: what a rollout's dry run simulates."""
        j = self.journey
        return OnboardingInput(contract=j.contract, playbook=j.playbook, progress=j.p)

    @workflow.query
    def get_plan(self) -> Plan:
        """The customer's plan, as the portal shows it."""
        return plan(self.journey)

    # ---- effects -------------------------------------------------------------------------

    async def _send(self, emails: list[Effect]) -> None:
        for email in emails:
            assert isinstance(email, EmailRequest)
            try:
                await workflow.execute_activity_method(
                    Mailer.send_email,
                    email,
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=RETRY,
                    summary=f"Email {email.template} to {email.to.role}",
                )
            except ActivityError as err:
                cause = err.cause
                if isinstance(cause, CancelledError):
                    return  # the onboarding was cancelled: the lane was dropped, nothing more goes out
                if not (isinstance(cause, ApplicationError) and cause.non_retryable):
                    raise
                refused = cause.type == "EmailRefused"
                failed = EmailFailed(
                    key=email.key, template=email.template, role=email.to.role, refused=refused, reason=cause.message
                )
                self.apply(failed)

    async def _record(self, effects: list[Effect]) -> None:
        await record(effects, self.one_batch)

    # ---- what ops see ----------------------------------------------------------------------

    def show(self) -> None:
        """Keep current details and search attributes in step with the journey."""
        attributes.show(self.journey, workflow.now(), self.shown, self.next_action_shown, self.playbook_shown)
