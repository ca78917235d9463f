"""`python -m bench.latency [--quick|--smoke]`: from a product event to its email in the outbox, idle and under load.

Two events of the SMB journey each cause an email at once: `first_login` ends self-serve
setup (the milestone celebration) and a "goal reached" survey answer completes the
onboarding (the completion email). A sample is the time from sending the signal to the
.eml file in the outbox (written just before the row is committed as sent).

Idle: one onboarding at a time, each event sent only once the worker has finished
everything before it. Under load: the throughput benchmark's journeys, all in flight at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowContinuedAsNewError

import starter
from adapters.email.local import eml_path
from bench import common
from bench.journey import Trip, contract, engine_journey
from bench.playbook import unpaced
from bench.throughput import gated
from onboarding.journey.state import onboarding_ref
from onboarding.messages import ProductEvent
from service import send

FIRST_LOGIN = ("self_serve_setup.exit.milestone_celebration", "early_training.enter.quick_start_guide")
GOAL_REACHED = ("success.onboarding_complete", "success.handover_to_ongoing_csm")
WAIT = 60.0  # seconds an email may take before the benchmark gives up


async def arrived(outbox: Path, key: str) -> None:
    """Until the email's .eml is in the outbox (looked for every 2 ms)."""
    path = eml_path(outbox, key)
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the email {key.split('/', 1)[1]} did not reach the outbox within {WAIT:.0f} s")
        await asyncio.sleep(0.002)


async def one_at_a_time(client: Client, outbox: Path, account_id: str) -> Trip:
    """One onboarding on an otherwise idle worker: each event waits until the last one's emails are out."""
    handle = await starter.start(client, contract(account_id), unpaced("smb"))
    trip = Trip(handle.id, time.time())
    ref = onboarding_ref(handle.id, handle.result_run_id or "")
    await arrived(outbox, f"{ref}/signed.welcome")
    for n, (event, (email, last)) in enumerate(
        (
            (ProductEvent(name="first_login"), FIRST_LOGIN),
            (ProductEvent(name="survey_answer", goal_reached=True, csat=5, ces=2), GOAL_REACHED),
        )
    ):
        await asyncio.sleep(0.1)  # the workflow task after the last email completes
        sent = time.time()
        await send.signal(handle, event.model_copy(update={"id": f"{account_id}-{n}"}))
        trip.sent.append((sent, f"{ref}/{email}"))
        await arrived(outbox, f"{ref}/{last}")
    first_run = client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    with contextlib.suppress(WorkflowContinuedAsNewError):  # done: on into the check-in cadence
        await first_run.result(follow_runs=False)
    trip.ended = time.time()
    return trip


async def measure(idle_runs: int, loaded_runs: int, options: common.Options) -> dict[str, Any]:
    settings = common.WorkerSettings()
    with common.scratch(options.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, idle_runs + loaded_runs)
        env = common.engine_env(folder, server, options.database_url) | settings.env()
        outbox = Path(env["OUTBOX_DIR"])
        client = await common.connect(server)
        tag = os.urandom(3).hex()
        worker = common.start_worker(folder, "engine", ["worker.py"], env, options.bytecode)
        try:
            with common.profiled(worker.pid, options.profile_to("latency-idle")):
                idle = [await one_at_a_time(client, outbox, f"idle-{tag}-{i}") for i in range(idle_runs)]
            began = time.monotonic()
            with common.profiled(worker.pid, options.profile_to("latency-loaded")):
                loaded = await gated(
                    (f"load-{tag}-{i}" for i in range(loaded_runs)),
                    lambda account: engine_journey(client, account),
                    loaded_runs,
                )
            load_seconds = time.monotonic() - began
            errors = common.worker_errors(worker)
        finally:
            common.stop_process(worker.process)
        if errors:
            raise RuntimeError("the worker logged errors:\n" + "\n".join(errors[:5]))
        idle_samples = [s for trip in idle for s in trip.latencies(outbox)]
        loaded_samples = [s for trip in loaded for s in trip.latencies(outbox)]
    return {
        "settings": {
            "event_to_email": {"first_login": FIRST_LOGIN[0], "survey_answer (goal reached)": GOAL_REACHED[0]},
            "idle_onboardings": idle_runs,
            "loaded_onboardings": loaded_runs,
            "load": f"{loaded_runs} throughput journeys in flight at once, {loaded_runs / load_seconds:.2f} a second",
            "worker": asdict(settings),
        }
        | options.describe(),
        "idle": common.percentiles(idle_samples),
        "under_load": common.percentiles(loaded_samples),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("--idle", type=int, help="onboardings driven one at a time (default 1000; quick 25; smoke 2)")
    parser.add_argument("--loaded", type=int, help="onboardings in flight at once (default 1000; quick 200; smoke 5)")
    args = parser.parse_args(argv)
    idle = args.idle or common.sized(args, smoke=2, quick=25, full=1000)
    loaded = args.loaded or common.sized(args, smoke=5, quick=200, full=1000)
    started = time.monotonic()
    figures = asyncio.run(measure(idle, loaded, common.Options.from_args(args)))
    common.write("latency", args, figures, started)
    print(f"latency: idle {figures['idle']}, under load {figures['under_load']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
