"""Turn stored CRM notifications into onboardings, after the CRM has had its answer.

Runs inside the intake process (started with the app when a CRM is configured) and wakes
when a webhook stores something, or when a retry is due. For each notification:
  1. read the deal (HubSpot: through its API; Salesforce: the fields the message carried)
     and check it is in a closed-won stage now;
  2. skip it when an equal or newer change of the same record was already handled (stale);
  3. map it to a contract; when fields are missing, open one task for a person naming every
     one of them (and post it to chat), and start nothing;
  4. start the onboarding (exactly one: a second start of an open onboarding is refused by
     Temporal), and remember the CRM record for the phase and status write-back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.chat import notices
from adapters.chat.view import NoticeView
from adapters.config import TASK_QUEUE, Settings
from adapters.crm import hubspot, inbox, mapping, salesforce
from adapters.db import HumanTask, Staff, engine
from adapters.integration_tables import CrmInbox, CrmLink
from adapters.integrations import Integrations
from adapters.staff import seed_if_empty
from service.start import AlreadyOnboarding, start

log = logging.getLogger("intake.crm")
IDLE = timedelta(seconds=30)
TASK_RULE = "crm_deal_incomplete"


class Skip(Exception):
    """The notification is settled without starting anything; `status` says how."""

    def __init__(self, status: str, outcome: str) -> None:
        super().__init__(outcome)
        self.status = status


class CrmProcessor:
    def __init__(
        self, client: Client, settings: Settings, integrations: Integrations, task_queue: str = TASK_QUEUE
    ) -> None:
        self.client, self.settings, self.integrations = client, settings, integrations
        self.task_queue = task_queue
        self.engine = engine(settings.database_url)
        self.wake = asyncio.Event()

    async def run(self) -> None:
        while True:
            self.wake.clear()
            try:
                while await self.step():
                    pass
            except Exception:  # the database is down, ...: log, wait, try again; rows stay stored
                log.exception("CRM inbox: processing failed; retrying shortly")
            due = await run_in_threadpool(self._next_due)
            wait = IDLE.total_seconds() if due is None else max(0.0, (due - datetime.now(UTC)).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(wait, IDLE.total_seconds()) + 0.01)

    def _next_due(self) -> datetime | None:
        with Session(self.engine) as db:
            return inbox.next_due(db)

    async def step(self) -> bool:
        """Process one due notification; False when none is due."""
        with Session(self.engine, expire_on_commit=False) as db:
            row = await run_in_threadpool(inbox.claim, db, datetime.now(UTC))
            if row is None:
                return False
            try:
                status, outcome, account = await self.handle(db, row)
            except Skip as e:
                await run_in_threadpool(inbox.settle, db, row, e.status, str(e))
            except hubspot.HubSpotError as e:
                if e.retryable:
                    await run_in_threadpool(inbox.retry_later, db, row, datetime.now(UTC), str(e))
                else:
                    await run_in_threadpool(inbox.settle, db, row, "failed", str(e))
                log.warning("CRM notification %s: %s", row.event_id, e)
            except RPCError as e:
                await run_in_threadpool(inbox.retry_later, db, row, datetime.now(UTC), f"Temporal: {e.status}")
            except Exception as e:  # a fault of ours or a surprise answer: retried, then 'failed', never lost
                log.exception("CRM notification %s could not be processed", row.event_id)
                await run_in_threadpool(inbox.retry_later, db, row, datetime.now(UTC), type(e).__name__)
            else:
                await run_in_threadpool(inbox.settle, db, row, status, outcome, account)
                log.info("CRM notification %s: %s", row.event_id, status)
            return True

    async def handle(self, db: Session, row: CrmInbox) -> tuple[str, str, str]:
        facts, names = await run_in_threadpool(self._facts, row)
        account = facts.account_id
        link = db.get(CrmLink, account)
        if link is not None and row.occurred_at < link.last_change_at:  # equal: this one again (a retry)
            raise Skip("stale", f"a newer change at {link.last_change_at:%Y-%m-%d %H:%M:%S} UTC was already handled")
        now = datetime.now(UTC)
        # Signed when the deal became won, not its close date (often set days or weeks apart): the
        # journey's clock (hand-over within 24 h, day-1/3/7 touches) starts at the hand-over.
        facts.signed_at = min(row.occurred_at, now)
        try:
            contract = mapping.contract(facts, names)
        except mapping.IncompleteDeal as e:
            await run_in_threadpool(self._remember, db, link, facts, row)
            await run_in_threadpool(self._incomplete, db, facts, e)
            return "refused", str(e), account
        try:
            await start(self.client, contract, task_queue=self.task_queue, crm=True)
            status, outcome = "started", f"onboarding-{account} started"
        except AlreadyOnboarding:
            status, outcome = "already", f"onboarding-{account} is already open"
        await run_in_threadpool(self._remember, db, link, facts, row)
        await run_in_threadpool(self._complete, db, account)
        return status, outcome, account

    def _facts(self, row: CrmInbox) -> tuple[mapping.DealFacts, dict[str, str]]:
        if row.crm == "hubspot":
            settings = self.integrations.hubspot
            if settings is None:
                raise Skip("ignored", "HubSpot is no longer configured")
            facts, pipeline, stage = hubspot.read_deal(settings, row.record_id)
            if not settings.is_closed_won(pipeline, stage):
                raise Skip("ignored", f"the deal is now in stage {stage!r} of pipeline {pipeline!r}, not closed-won")
            return facts, hubspot.field_names(settings)
        sf = self.integrations.salesforce
        sf_stage = row.payload.get("StageName")
        if sf is not None and sf_stage != sf.closed_won_stage:
            raise Skip("ignored", f"the opportunity's stage is {sf_stage!r}, not {sf.closed_won_stage!r}")
        return salesforce.facts(row.record_id, row.payload), salesforce.field_names()

    def _remember(self, db: Session, link: CrmLink | None, facts: mapping.DealFacts, row: CrmInbox) -> None:
        if link is None:
            link = CrmLink(
                account_id=facts.account_id,
                crm=row.crm,
                record_id=row.record_id,
                last_change_at=row.occurred_at,
                created_at=datetime.now(UTC),
            )
        link.last_change_at = max(link.last_change_at, row.occurred_at)
        db.add(link)
        db.commit()

    def _incomplete(self, db: Session, facts: mapping.DealFacts, problem: mapping.IncompleteDeal) -> None:
        """One open task per deal naming what to fix (updated when the deal is won again still incomplete)."""
        account = facts.account_id
        rep = f" (deal owner: {facts.sales_rep_name})" if facts.sales_rep_name else ""
        reason = (
            f"{facts.record_label}{rep} is closed-won but cannot start an onboarding. Fix these in the CRM, then "
            f"move the deal out of the won stage and back: " + "; ".join(problem.missing)
        )
        task = db.exec(
            select(HumanTask)
            .where(HumanTask.account_id == account, HumanTask.rule == TASK_RULE)
            .where(HumanTask.status == "open")
        ).first()
        now = datetime.now(UTC)
        if task is not None:
            task.reason, task.occurrences, task.last_seen_at = reason, task.occurrences + 1, now
            db.add(task)
            db.commit()
            return
        digest = hashlib.sha256(f"{account}:{now.isoformat()}".encode()).hexdigest()[:8]
        task = HumanTask(
            key=f"crm-{account}/incomplete-{digest}",
            account_id=account,
            workflow_id=f"onboarding-{account}",
            kind="task",
            rule=TASK_RULE,
            reason=reason,
            to_role="sales_manager",
            assignee=self._assignee(db),
            opened_at=now,
            due_at=now + timedelta(hours=24),
        )
        db.add(task)
        db.commit()
        owner = notices.owner(db, task.assignee)
        view = NoticeView(
            key=task.key,
            account_id=account,
            workflow_id=task.workflow_id,
            company=facts.company or facts.record_label,
            kind="task",
            title="won deal is missing contract fields",
            reason=reason,
            owner=owner,
            due_at=task.due_at,
        )
        try:
            notices.announce(db, self.integrations, view, None)
        except Exception as e:  # the task is recorded; the chat post is a convenience
            log.warning("could not post the incomplete-deal task to chat: %s", type(e).__name__)

    def _complete(self, db: Session, account: str) -> None:
        """The deal now makes a contract: its open 'missing fields' task is done."""
        now = datetime.now(UTC)
        for task in db.exec(
            select(HumanTask)
            .where(HumanTask.account_id == account, HumanTask.rule == TASK_RULE)
            .where(HumanTask.status == "open")
        ).all():
            task.status, task.resolved_by, task.resolved_at = "resolved", "engine", now
            task.resolution = "the deal now has every field the contract needs; the onboarding started"
            db.add(task)
            db.commit()
            try:
                notices.change(db, self.integrations, task.key, "resolved", "engine", now)
            except Exception as e:  # the task is closed; the chat message is a convenience
                log.warning("could not update the incomplete-deal notice: %s", type(e).__name__)

    def _assignee(self, db: Session) -> str:
        if self.integrations.crm_task_assignee:
            return self.integrations.crm_task_assignee
        seed_if_empty(db, self.settings.staff_file)
        manager = db.exec(select(Staff).where(Staff.role == "cs_manager", Staff.active == True)).first()  # noqa: E712
        return manager.id if manager else "unassigned"


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run the processor with the app when a CRM is configured."""
    integrations = Integrations.from_env()
    if integrations.hubspot is None and integrations.salesforce is None:
        app.state.crm = None
        yield
        return
    task_queue = getattr(app.state, "task_queue", TASK_QUEUE)  # tests run their own workers' queue
    processor = CrmProcessor(app.state.client, Settings.from_env(), integrations, task_queue)
    app.state.crm = processor
    task = asyncio.create_task(processor.run(), name="crm-inbox")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def wake(app: Any) -> None:
    processor: CrmProcessor | None = getattr(app.state, "crm", None)
    if processor is not None:
        processor.wake.set()
