"""`python -m bench.chatty [--quick|--smoke]`: a product that never stops talking, on the real dev server.

One enterprise onboarding gets N `key_action` events (10,000 at full size), sent in concurrent
batches the way a busy product's telemetry arrives. The dev server enforces Temporal's real
limits (a warning at 10,240 history events, termination at 51,200), so this shows that the
onboarding continues as new and every run stays small, and that no event is lost: every one
is a row on the account's timeline. Reported: runs, the largest run's events and bytes, and
the events a second the worker absorbed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select
from temporalio.client import Client, WorkflowHistory

import starter
from adapters.db import TimelineEvent, engine
from bench import common
from onboarding.messages import ProductEvent
from service import send

CONTRACT = Path(__file__).resolve().parent.parent / "contracts" / "enterprise.json"
BATCH = 50
WAIT = 600.0  # seconds the worker may take to record every event


async def every_run(client: Client, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """Each run of the onboarding, first to last, following continue-as-new."""
    histories, run_id = [], first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        run_id = history.events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return histories


def recorded(database_url: str, account_id: str) -> int:
    with Session(engine(database_url)) as db:
        query = select(func.count()).where(TimelineEvent.account_id == account_id, TimelineEvent.name == "key_action")
        return int(db.exec(query).one())


async def measure(events: int, options: common.Options) -> dict[str, Any]:
    with common.scratch(options.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, 1)
        env = common.engine_env(folder, server, options.database_url) | common.WorkerSettings().env()
        client = await common.connect(server)
        worker = common.start_worker(folder, "engine", ["worker.py"], env, options.bytecode)
        try:
            signed = starter.parse_contract(CONTRACT.read_text().replace("globex-manufacturing", "chatty"))
            handle = await starter.start(client, signed)
            began = time.monotonic()
            for first in range(0, events, BATCH):
                batch = range(first, min(first + BATCH, events))
                await asyncio.gather(
                    *(
                        send.signal(handle, ProductEvent(name="key_action", action="report_run", id=f"e{n}"))
                        for n in batch
                    )
                )
            sent = time.monotonic() - began
            deadline = time.monotonic() + WAIT
            while (seen := recorded(env["DATABASE_URL"], "chatty")) < events and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            absorbed = time.monotonic() - began
            runs = await every_run(client, handle.id, handle.result_run_id or "")
            description = await handle.describe()
            status = description.status.name if description.status else "unknown"
            errors = common.worker_errors(worker)
        finally:
            common.stop_process(worker.process)
        if errors:
            raise RuntimeError("the worker logged errors:\n" + "\n".join(errors[:5]))
    sizes = [(len(h.events), sum(e.ByteSize() for e in h.events)) for h in runs]
    largest = max(sizes)
    return {
        "settings": {"events": events, "batch": BATCH, "segment": "enterprise"} | options.describe(),
        "events_sent": events,
        "events_recorded": seen,
        "runs": len(runs),
        "largest_run_events": largest[0],
        "largest_run_kib": round(largest[1] / 1024, 1),
        "history_events_per_run": [n for n, _ in sizes],
        "send_seconds": round(sent, 1),
        "events_per_second_absorbed": round(seen / absorbed, 1),
        "status": status,
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("--events", type=int, help="product events to send (default 10000; quick 2500; smoke 300)")
    args = parser.parse_args(argv)
    events = args.events or common.sized(args, smoke=300, quick=2500, full=10_000)
    started = time.monotonic()
    figures = asyncio.run(measure(events, common.Options.from_args(args)))
    common.write("chatty", args, figures, started)
    print(
        f"chatty: {figures['events_recorded']}/{events} events recorded over {figures['runs']} runs; largest run "
        f"{figures['largest_run_events']} events, {figures['largest_run_kib']} KiB",
        file=sys.stderr,
    )
    if figures["events_recorded"] != events:
        print("chatty: events were lost", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
