"""One journey on the simulator: its actions at their virtual days, and the clock run between them.

Each action is sent by its catalogue name (service.send). Before each action the run waits
until the workflow is idle, so a rule due at the very moment of an action always acts first and
every run of a scenario gives the same timeline. An update the workflow refuses becomes a
`rejected` line with the workflow's reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from onboarding.messages import ProductEvent
from onboarding.models import Contract, Status
from service import send
from simulator import history
from simulator.scenario import Step
from simulator.sink import EmailSink
from simulator.timeline import Entry, day_of
from workflows.onboarding import OnboardingWorkflow

DAY = timedelta(days=1)
SETTLE_TIMEOUT = 60.0  # wall seconds a workflow may stay busy at one virtual moment
TIMER_GUARD = timedelta(seconds=60)  # an action this close before a timer waits for it (see clear_of_timers)
HUMAN_TOUCHES = {"kickoff_done", "log_touch"}  # CSM actions that are a contact with the customer
INTERNAL_TOUCHES = {"sales_handover"}  # logged touches that never reach the customer


class SimulationError(RuntimeError):
    """The engine could not run the scenario (a workflow bug, a stuck run)."""


def _reason(error: WorkflowUpdateFailedError) -> str:
    """The innermost message: the validator's words, or the activity's (an unknown staff id)."""
    cause: BaseException | None = error.cause
    while isinstance(cause, FailureError) and cause.cause is not None:
        cause = cause.cause
    return cause.message if isinstance(cause, FailureError) else str(error)


class Journey:
    """One onboarding being simulated: its clock, its actions, and the watch for broken templates."""

    def __init__(self, env: WorkflowEnvironment, sink: EmailSink, contract: Contract, first_run: str) -> None:
        assert contract.signed_at, "parse_contract stamps signed_at"
        self.env, self.sink, self.contract, self.signed_at = env, sink, contract, contract.signed_at
        self.handle: WorkflowHandle[Any, Any] = env.client.get_workflow_handle(contract.workflow_id)
        self.watch = history.Watch(env.client, contract.workflow_id, first_run)

    async def play(self, steps: tuple[Step, ...], days: float) -> tuple[list[Entry], int]:
        """Every action at its day, then on to the last day; (rejected lines, human touches)."""
        rejected: list[Entry] = []
        human = 0
        for step in steps:
            await self.clear_of_timers(self.signed_at + step.day * DAY)
            refusal = await self.act(step)
            if refusal is not None:
                at = await self.env.get_current_time()
                rejected.append(
                    Entry(
                        at=at,
                        day=day_of(at, self.signed_at),
                        kind="rejected",
                        name=step.action,
                        to=None,
                        detail=refusal,
                    )
                )
            elif step.action in HUMAN_TOUCHES and step.args.get("touch") not in INTERNAL_TOUCHES:
                human += 1
        await self.clear_of_timers(self.signed_at + days * DAY)  # a timer due at the very end fires whole
        return rejected, human

    async def clear_of_timers(self, at: datetime) -> None:
        """Run to `at`; a timer due within TIMER_GUARD after it fires first, and then the action goes.

        The time-skipping server refuses a workflow task that cancels a timer it fired meanwhile,
        and the run then hangs: a signal or update that ends a wait a moment before its timer does
        exactly that. Moving the action past the timer (seconds, invisible at the timeline's
        hundredth of a day) keeps the rule documented for actions: what is due fires first.
        """
        clock = await self.until(at)
        while (due := self.watch.next_timer()) is not None:
            if due > clock + TIMER_GUARD:
                return
            clock = await self.until(due + timedelta(milliseconds=1))

    async def until(self, at: datetime) -> datetime:
        """Let virtual time run to `at`, then wait until the workflow has done all that was due.

        Returns the virtual time it ran to: the server's clock, read before, or `at` (the clock
        has moved on since only by the wall milliseconds the look for idleness took)."""
        now = await self.env.get_current_time()
        if at > now:
            await self.env.sleep(at - now)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while not await self.idle():
            if time.monotonic() > deadline:
                raise SimulationError(f"the workflow stayed busy for {SETTLE_TIMEOUT:g} s at one virtual moment")
            await asyncio.sleep(0.005)
        self.check_templates()
        return max(now, at)

    async def idle(self) -> bool:
        try:
            return await self.watch.idle()
        except history.WorkflowTaskFailed as e:
            raise SimulationError(f"the workflow failed while running the playbook: {e}") from None

    def check_templates(self) -> None:
        """A template that did not render ends the simulation at the first quiet moment after."""
        failures = self.sink.failures(self.contract.account_id)
        if failures:
            f = failures[0]
            day = day_of(f.at, self.signed_at)
            raise SimulationError(f"day {day:g}: template {f.template!r} (to {f.role}) does not render: {f.error}")

    async def act(self, step: Step) -> str | None:
        """Send one action; the workflow's reason if it refuses it."""
        message = step.message(self.signed_at)
        try:
            if isinstance(message, ProductEvent):
                await send.signal(self.handle, message)
            else:
                await send.act(self.handle, message)
        except WorkflowUpdateFailedError as e:
            return _reason(e)
        except RPCError as e:
            if e.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
                raise
            return "the onboarding is over: its workflow has closed"
        return None

    async def status(self) -> Status:
        return await self.handle.query(OnboardingWorkflow.get_status)

    async def end(self) -> None:
        with contextlib.suppress(RPCError):
            await self.handle.terminate("simulation over")
