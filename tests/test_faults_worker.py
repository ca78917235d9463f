"""The worker killed with SIGKILL in the middle of a batch, mid-activity and mid-workflow-task,
then restarted: every onboarding ends as it would have, no email twice, no timeline row twice.

Real processes (`python worker.py`, the Temporal dev server, PostgreSQL), in real time on the
compressed SMB playbook. To kill the worker at exactly the worst moments rather than by luck:
- mid-activity: the timeline table is locked while the 2-second nudges go out, so each
  send_email has written its .eml and claimed its outbox row ('sending') and is stuck
  committing 'sent'. A retry must neither lose that email nor send it twice.
- mid-workflow-task: the worker is frozen (SIGSTOP) and every onboarding signalled, so the
  frozen worker's pending polls take workflow tasks it will never finish.
Then SIGKILL, the lock released, and a new worker started.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from typing import Any

import psycopg
import pytest

import starter
from onboarding.messages import ProductEvent
from onboarding.playbook import Playbook
from service import send
from tests.faults import (
    activities_timed_out,
    audit,
    everyone_escalated,
    first_runs,
    resolve_and_log_in,
    validate_success,
    workflow_tasks_lost,
)
from tests.test_scale_out import TIMELINE_EACH, Cluster, cluster, dev_server, each, fast, signed, until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["cluster", "dev_server", "fast"]  # fixtures shared with the scale-out tests

BATCH = 30
# A support ticket in every onboarding: the signal that hands workflow tasks to the frozen worker.
TIMELINE = TIMELINE_EACH + Counter({("event", "support_ticket"): 1})
WAITING_ON_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def lock_waiters(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(WAITING_ON_LOCK).fetchone()
    return int(row[0]) if row else 0


async def test_a_worker_killed_mid_activity_and_mid_workflow_task_then_restarted_loses_nothing(
    cluster: Cluster, fast: Playbook
) -> None:
    first = cluster.start_worker("first")
    await first.polling()
    accounts = [f"kill-{i:03d}" for i in range(BATCH)]
    url = cluster.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as hold, psycopg.connect(url, autocommit=True) as watch:
        handles = await each(accounts, lambda a: starter.start(cluster.client, signed(a), fast))
        runs = {h.id: h.result_run_id for h in handles}
        welcomed = "SELECT count(*) FROM outboxemail WHERE template = 'welcome' AND status = 'sent'"
        await until("every welcome sent", lambda: (watch.execute(welcomed).fetchone() or [0])[0] == BATCH, 120)

        hold.execute("LOCK TABLE timelineevent IN EXCLUSIVE MODE")  # reads go on, writes wait
        await until("nudges stuck mid-activity", lambda: lock_waiters(watch) >= 5, 60)
        stuck = lock_waiters(watch)

        first.proc.send_signal(signal.SIGSTOP)
        ticket = {a: ProductEvent(name="support_ticket", id=f"ticket-{a}") for a in accounts}
        await each(accounts, lambda a: send.signal(cluster.onboarding(a), ticket[a]))
        await asyncio.sleep(1)  # the frozen worker's polls have taken what they will take
        first.proc.send_signal(signal.SIGKILL)
        assert first.proc.wait(timeout=15) == -signal.SIGKILL
        hold.rollback()

    second = cluster.start_worker("second")
    await second.polling()
    await each(accounts, lambda a: send.signal(cluster.onboarding(a), ticket[a]))  # redelivered
    await everyone_escalated(cluster, BATCH)
    await resolve_and_log_in(cluster, accounts)
    await validate_success(cluster, accounts)

    histories = await first_runs(cluster.client, runs)
    tasks_lost = sum(workflow_tasks_lost(h) for h in histories)
    activities_cut = sum(activities_timed_out(h) for h in histories)
    assert tasks_lost >= 1, "the kill must land mid-workflow-task"
    assert activities_cut >= 1, "the kill must land mid-activity"
    faults = (
        f"1 SIGKILL ({stuck} activities stuck mid-commit, {activities_cut} activity attempts"
        f" and {tasks_lost} workflow tasks lost with the worker), 1 restart"
    )
    audit("worker SIGKILL + restart", faults, cluster.database_url, accounts, timeline_for=lambda _: TIMELINE)
