"""What the fault tests share: a batch driven through the compressed SMB journey, and the audit
that proves each onboarding reached the outcome it would have reached anyway, nothing twice.

The journey (tests/playbooks/smb_fast.yaml, a day is a second): welcome on signing; nobody logs
in, so a nudge at 2 s and an escalation at 4 s; the CSM resolves it and the customer logs in
(setup ends: a milestone email, then the success survey); the CSM records success (the
completion email). Every onboarding of a batch ends with the same emails and timeline rows,
whatever was killed or cut on the way: tests/test_scale_out.py's EMAILS_EACH and TIMELINE_EACH.

Each test records what it measured as a `Tally`; with FAULT_SUMMARY=path set, the tallies are
appended there as JSON lines, from which docs/reliability.md's table is filled.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from adapters.db import HumanTask, Onboarding, OutboxEmail, TimelineEvent, engine
from onboarding.messages import ProductEvent, ResolveEscalation, SuccessCriteriaMet
from service import send
from tests.test_scale_out import EMAILS_EACH, ESCALATION, TIMELINE_EACH, TIMING, Cluster, each, until

Expected = Callable[[str], Counter[str]]


@dataclass
class Tally:
    """One fault scenario, as measured: what was injected and what the batch did."""

    scenario: str
    faults: str
    onboardings: int
    emails_expected: int
    emails_sent: int
    emails_duplicated: int
    timeline_expected: int
    timeline_written: int

    def record(self) -> None:
        path = os.environ.get("FAULT_SUMMARY")
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(self)) + "\n")


# ---- the journey, driven through a batch of real processes -----------------------------------


async def everyone_escalated(cluster: Cluster, n: int, seconds: float = 180) -> None:
    escalated = select(func.count()).select_from(HumanTask).where(HumanTask.rule == "no_login_escalation")
    await until(f"all {n} customers escalated", lambda: cluster.count(escalated) == n, seconds)


async def resolve_and_log_in(cluster: Cluster, accounts: list[str]) -> None:
    """The CSMs call their silent customers and close the escalation; the customers log in."""
    resolve = ResolveEscalation(escalation=ESCALATION, note="called them", by="csm-ana")
    await each(accounts, lambda a: send.act(cluster.onboarding(a), resolve))
    await log_in(cluster, accounts)


async def log_in(cluster: Cluster, accounts: list[str]) -> None:
    """Each customer's first login, with the product's delivery id: a redelivery is applied once."""
    await each(
        accounts,
        lambda a: send.signal(cluster.onboarding(a), ProductEvent(name="first_login", id=f"login-{a}")),
    )


async def validate_success(cluster: Cluster, accounts: list[str], seconds: float = 180) -> None:
    """Every customer reaches the success check, the CSMs record success, every onboarding completes."""
    n = len(accounts)
    validating = select(func.count()).select_from(Onboarding).where(Onboarding.phase == "success_validation")
    await until(f"all {n} customers at the success check", lambda: cluster.count(validating) == n, seconds)
    success = SuccessCriteriaMet(evidence="bookings live", by="csm-ana")
    await each(accounts, lambda a: send.act(cluster.onboarding(a), success))
    done = select(func.count()).select_from(Onboarding).where(Onboarding.status == "completed")
    await until(f"all {n} onboardings complete", lambda: cluster.count(done) == n, seconds)
    # Emails go in a lane of their own, in order: the completion email settled means all of them did.
    settled = col(OutboxEmail.status).in_(["sent", "failed", "suppressed"])
    last = select(func.count()).select_from(OutboxEmail).where(OutboxEmail.template == "onboarding_complete", settled)
    await until(f"all {n} completion emails settled", lambda: cluster.count(last) == n, seconds)


# ---- the audit ---------------------------------------------------------------------------------


def audit(
    scenario: str,
    faults: str,
    database_url: str,
    accounts: Iterable[str],
    emails_for: Expected = lambda _: EMAILS_EACH,
    timeline_for: Callable[[str], Counter[tuple[str, str]]] = lambda _: TIMELINE_EACH,
    provider_took: Counter[str] | None = None,
) -> Tally:
    """Compare every onboarding's emails and timeline with what its journey should have produced.

    `provider_took` counts, per email key, the copies an email provider accepted: a second copy
    of one key is a duplicate in someone's inbox. Duplicates are counted before anything is
    asserted, so the tally reports them honestly; then the test fails on any difference.
    """
    accounts = list(accounts)
    with Session(engine(database_url)) as db:
        emails = db.exec(
            select(OutboxEmail.account_id, OutboxEmail.key, OutboxEmail.template, OutboxEmail.status)
        ).all()
        timeline = db.exec(
            select(TimelineEvent.account_id, TimelineEvent.key, TimelineEvent.kind, TimelineEvent.name)
        ).all()
    sent = [(a, template) for a, _, template, status in emails if status == "sent"]
    duplicated = 0
    for account in accounts:
        got = Counter(t for a, t in sent if a == account)
        duplicated += sum(max(0, n - emails_for(account)[t]) for t, n in got.items())
    duplicated += sum(n - 1 for n in (provider_took or Counter()).values() if n > 1)
    rows = [(a, key, kind, name) for a, key, kind, name in timeline if kind not in TIMING]
    tally = Tally(
        scenario=scenario,
        faults=faults,
        onboardings=len(accounts),
        emails_expected=sum(emails_for(a).total() for a in accounts),
        emails_sent=len(sent),
        emails_duplicated=duplicated,
        timeline_expected=sum(timeline_for(a).total() for a in accounts),
        timeline_written=len(rows),
    )
    tally.record()

    assert len({key for _, key, _, _ in emails}) == len(emails), "an email key has two outbox rows"
    assert len({key for _, key, _, _ in timeline}) == len(timeline), "a timeline key has two rows"
    for account in accounts:
        got = Counter(t for a, t in sent if a == account)
        assert got == emails_for(account), f"{account}: sent {dict(got)}, expected {dict(emails_for(account))}"
        assert Counter((k, n) for a, _, k, n in rows if a == account) == timeline_for(account), account
    assert (tally.emails_sent, tally.emails_duplicated) == (tally.emails_expected, 0)
    assert tally.timeline_written == tally.timeline_expected
    return tally


# ---- evidence, from the histories, that a fault hit work in flight ------------------------------


async def first_runs(client: Client, runs: dict[str, str]) -> list[list[HistoryEvent]]:
    """The history of each onboarding's first run (before it continued as new into its check-ins)."""
    histories = []
    for workflow_id, run_id in runs.items():
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(list(history.events))
    return histories


def workflow_tasks_lost(events: list[HistoryEvent]) -> int:
    """Workflow tasks a worker started and never finished (it died holding them)."""
    return sum(
        1
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT
        and e.workflow_task_timed_out_event_attributes.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    )


def activities_retried(events: list[HistoryEvent], cause: str = "") -> int:
    """Activities that completed on a later attempt, the earlier one having failed (with `cause` in its message)."""
    return sum(
        1
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
        and cause in e.activity_task_started_event_attributes.last_failure.message
    )


def activities_timed_out(events: list[HistoryEvent]) -> int:
    """Activities whose earlier attempt ran out its start-to-close time: its worker died mid-activity."""
    return sum(
        1
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.last_failure.timeout_failure_info.timeout_type
        == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    )
