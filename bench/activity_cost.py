"""`python -m bench.activity_cost [--quick|--smoke]`: what each activity costs, run in-process, one at a time.

The engine's side effects measured without Temporal around them: the SMB happy path's own
emails (their requests read from a simulated onboarding's history) sent through the real
`send_email` activity to the outbox, the same onboarding's timeline rows through
`record_timeline`, and `assign_team`, each on a fresh SQLite database. CPU milliseconds and
wall milliseconds per call, and what rendering alone costs. Single-threaded and free of
network and scheduling noise, this is where a change to an activity shows first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.email import Mailer
from activities.records import Records
from activities.team import Staffing
from adapters.config import Settings
from adapters.db import engine, upgrade
from adapters.email import compose
from adapters.email.render import available, render
from bench import common
from bench.history import SCENARIOS, closed_onboardings, runs_of
from onboarding import playbook
from onboarding.effects import AssignRequest, EmailRequest, TimelineEntry
from simulator.run import Simulator
from simulator.scenario import load


async def captured_emails() -> list[EmailRequest]:
    """Every send_email request of a simulated SMB happy path, as the workflow made them."""
    async with Simulator() as sim:
        before = await closed_onboardings(sim.client)
        await sim.simulate(load(SCENARIOS / "smb_happy_path.yaml"), playbook.for_segment("smb", available()))
        ((workflow_id, first_run),) = (await closed_onboardings(sim.client)).items() - before.items()
        runs = await runs_of(sim.client, workflow_id, first_run)
    converter = pydantic_data_converter.payload_converter
    out = []
    for event in runs[0]:
        attrs = event.activity_task_scheduled_event_attributes
        scheduled = event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        if scheduled and attrs.activity_type.name == "send_email":
            (request,) = converter.from_payloads(list(attrs.input.payloads), [EmailRequest])
            out.append(request)
    return out


def timeline_batch(request: AssignRequest, n: int) -> list[TimelineEntry]:
    """A customer event and the phase change it causes, as the workflow records them together."""
    return [
        TimelineEntry(
            key=f"{request.workflow_id}:{n}",
            account_id=request.account_id,
            at=request.signed_at + timedelta(hours=n),
            kind="event",
            name="key_action",
            actor="customer",
            detail="booking_page_published",
        ),
        TimelineEntry(
            key=f"{request.workflow_id}:{n}.phase",
            account_id=request.account_id,
            at=request.signed_at + timedelta(hours=n),
            kind="phase",
            name="adoption_support",
            actor="engine",
            detail="Early training done; Adoption support begins",
        ),
    ]


class Statements:
    """SQL statements and commits the engine's database sees (a count does not depend on the machine's load)."""

    def __init__(self, url: str) -> None:
        self.statements = self.commits = 0
        sqlalchemy.event.listen(engine(url), "before_cursor_execute", self._statement)
        sqlalchemy.event.listen(engine(url), "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1


def timed(calls: list[Callable[[], Any]], sql: Statements, chunks: int = 5) -> dict[str, float]:
    """Per call: SQL statements and commits, and CPU and wall milliseconds (the calls run in chunks;
    the fastest chunk is the figure least disturbed by whatever else the machine was doing)."""
    statements, commits = sql.statements, sql.commits
    cpu: list[float] = []
    wall: list[float] = []
    size = max(1, len(calls) // chunks)
    for start in range(0, len(calls), size):
        chunk = calls[start : start + size]
        began_cpu, began_wall = time.process_time(), time.perf_counter()
        for call in chunk:
            call()
        cpu.append((time.process_time() - began_cpu) / len(chunk))
        wall.append((time.perf_counter() - began_wall) / len(chunk))
    n = len(calls)
    return {
        "calls": n,
        "sql_statements_each": round((sql.statements - statements) / n, 2),
        "commits_each": round((sql.commits - commits) / n, 2),
        "cpu_ms_each": round(min(cpu) * 1000, 2),
        "cpu_ms_each_median": round(sorted(cpu)[len(cpu) // 2] * 1000, 2),
        "wall_ms_each": round(min(wall) * 1000, 2),
    }


def measure(onboardings: int, emails: list[EmailRequest], settings: Settings) -> dict[str, Any]:
    """Run each activity on objects built from `settings`, as a worker builds them."""
    upgrade(settings.database_url)
    sql = Statements(settings.database_url)
    run = ActivityEnvironment().run
    template = emails[0]
    accounts = [
        AssignRequest(
            workflow_id=f"onboarding-cost-{i}",
            account_id=f"cost-{i}",
            company="BrightPath Dental",
            segment="smb",
            locale="en",
            acv=4800,  # type: ignore[arg-type]
            employees=35,
            signed_at=template.at,
        )
        for i in range(onboardings)
    ]
    assign_team, record_timeline = Staffing(settings).assign_team, Records(settings).record_timeline
    figures = {"assign_team": timed([partial(run, assign_team, a) for a in accounts], sql)}
    batches = [timeline_batch(a, n) for a in accounts for n in range(3)]
    figures["record_timeline"] = timed([partial(run, record_timeline, b) for b in batches], sql)
    requests = [
        e.model_copy(update={"key": f"{a.workflow_id}/{e.key.split('/', 1)[1]}", "workflow_id": a.workflow_id})
        for a in accounts
        for e in emails
    ]
    contexts = [(r.template, r.locale, compose.context(r, settings)) for r in requests]
    figures["render"] = timed([partial(render, *c) for c in contexts], sql)
    figures["send_email"] = timed([partial(run, Mailer(settings).send_email, r) for r in requests], sql)
    engine(settings.database_url).dispose()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    args = parser.parse_args(argv)
    onboardings = common.sized(args, smoke=3, quick=30, full=200)
    started = time.monotonic()
    emails = asyncio.run(captured_emails())
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        folder = Path(scratch)
        settings = dataclasses.replace(
            Settings.from_env(),
            database_url=f"sqlite:///{folder / 'onboarding.db'}",
            outbox_dir=folder / "outbox",
            staff_file=common.write_roster(folder, onboardings),
            email_backend="outbox",
        )
        figures = measure(onboardings, emails, settings)
    common.write(
        "activity_cost",
        args,
        {
            "settings": {
                "onboardings": onboardings,
                "emails_each": len(emails),
                "templates": sorted({e.template for e in emails}),
                "database": "sqlite",
            },
            "activities": figures,
        },
        started,
    )
    for name, f in figures.items():
        print(f"activity_cost: {name}: {f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
