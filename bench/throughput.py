"""`python -m bench.throughput [--quick|--smoke]`: onboardings one worker and one server carry, against the floor.

N onboardings (200 quick, 2,000 full) run the scripted SMB journey (bench/journey.py) to
completion on a private dev server, every email through the outbox, with `python worker.py`
as the one worker. In the same run, on the same server and worker settings, N floor
workflows (bench/floor.py) get the same messages at the same moments and run the same number
of timers and no-op activities, counted from the engine's own histories. The ratio of the
two is the engine's own cost: playbook logic, rendering, database writes, payload size.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client

from bench import common
from bench.floor import Shape
from bench.journey import STEP_SECONDS, STEPS, Trip, engine_journey, floor_journey

SHAPE_SAMPLE = 20  # histories read to count what one onboarding is made of
T = TypeVar("T")


@dataclass
class Phase:
    """One side of the comparison: its trips, and what the processes spent on them."""

    name: str
    trips: list[Trip]
    wall: float
    worker_cpu: float
    server_cpu: float
    driver_cpu: float
    events: int
    worker_peak_rss_mb: float
    cache: dict[str, float]

    def figures(self) -> dict[str, Any]:
        n = len(self.trips)
        lasted = sorted(t.ended - t.started for t in self.trips)
        return {
            "runs": n,
            "wall_seconds": round(self.wall, 2),
            "per_second": round(n / self.wall, 2),
            "history_events": self.events,
            "history_events_per_run": round(self.events / n, 1),
            "history_events_per_second": round(self.events / self.wall, 1),
            "worker_cpu_seconds": self.worker_cpu,
            "worker_cpu_ms_per_run": round(self.worker_cpu / n * 1000, 1),
            "workflow_cache_hits_per_run": round(self.cache.get("hit", 0) / n, 2),
            "workflow_cache_misses_per_run": round(self.cache.get("miss", 0) / n, 2),
            "workflow_cache_forced_evictions_per_run": round(self.cache.get("total_forced_eviction", 0) / n, 2),
            "server_cpu_ms_per_run": round(self.server_cpu / n * 1000, 1),
            "driver_cpu_ms_per_run": round(self.driver_cpu / n * 1000, 1),
            "worker_peak_rss_mb": self.worker_peak_rss_mb,
            "run_seconds_median": round(lasted[n // 2], 2),
            "run_seconds_max": round(lasted[-1], 2),
        }


async def gated(items: Iterable[T], action: Callable[[T], Awaitable[Trip]], at_once: int) -> list[Trip]:
    """Run `action` on every item, at most `at_once` at a time."""
    gate = asyncio.Semaphore(at_once)

    async def one(item: T) -> Trip:
        async with gate:
            return await action(item)

    return await asyncio.gather(*(one(item) for item in items))


async def runs_length(client: Client, workflow_id: str) -> int:
    """Events in every run of a workflow so far (an onboarding is two: itself and its check-in cadence)."""
    latest = await client.get_workflow_handle(workflow_id).describe()
    first_id = latest.raw_description.workflow_execution_info.first_run_id
    total = latest.history_length
    if first_id and first_id != latest.run_id:
        first = await client.get_workflow_handle(workflow_id, run_id=first_id).describe()
        total += first.history_length
    return int(total)


async def shape_of(client: Client, workflow_ids: list[str]) -> tuple[Shape, dict[str, float]]:
    """What the first run of an onboarding is made of (averaged over a sample), as the floor's shape."""
    counts: Counter[str] = Counter()
    sample = workflow_ids[:SHAPE_SAMPLE]
    for workflow_id in sample:
        first_id = (await client.get_workflow_handle(workflow_id).describe()).raw_description.workflow_execution_info
        handle = client.get_workflow_handle(workflow_id, run_id=first_id.first_run_id)
        async for event in handle.fetch_history_events():
            kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:  # which wait ran out
                kind += f" ({TimeoutType.Name(event.workflow_task_timed_out_event_attributes.timeout_type)})"
            counts[kind] += 1
    per_run = {kind: round(n / len(sample), 1) for kind, n in sorted(counts.items())}
    shape = Shape(
        messages=len(STEPS),
        timers=round(per_run.get("TIMER_STARTED", 0)),
        activities=round(per_run.get("ACTIVITY_TASK_SCHEDULED", 0)),
        local_activities=round(per_run.get("MARKER_RECORDED", 0)),
    )
    return shape, per_run


async def drive(
    name: str,
    client: Client,
    server: common.DevServer,
    worker: common.WorkerProcess,
    journeys: list[Callable[[], Awaitable[Trip]]],
    at_once: int,
) -> Phase:
    """Run every journey against the worker, metering the worker, the server and this driver."""
    metered = [common.Meter(worker.pid), common.Meter(server.pid)]
    for meter in metered:
        meter.start()
    driver_began, began = time.process_time(), time.monotonic()
    trips = await gated(journeys, lambda journey: journey(), at_once)
    wall = time.monotonic() - began
    worker_cpu, server_cpu = (meter.stop() for meter in metered)
    driver_cpu = time.process_time() - driver_began
    peak = common.peak_rss_mb(worker.pid)
    cache = worker.workflow_cache()
    errors = common.worker_errors(worker)
    if errors:
        raise RuntimeError(f"{name}: the worker logged errors:\n" + "\n".join(errors[:5]))
    events = sum(await asyncio.gather(*(runs_length(client, t.workflow_id) for t in trips)))
    return Phase(name, trips, wall, worker_cpu, server_cpu, driver_cpu, events, peak, cache)


async def measure(n: int, at_once: int, options: common.Options, sticky_seconds: float) -> dict[str, Any]:
    settings = common.WorkerSettings(sticky_queue_seconds=sticky_seconds)
    with common.scratch(options.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, n)
        env = common.engine_env(folder, server, options.database_url) | settings.env()
        client = await common.connect(server)
        tag = os.urandom(3).hex()

        worker = common.start_worker(folder, "engine", ["worker.py"], env, options.bytecode)
        try:
            with common.profiled(worker.pid, options.profile_to("throughput-engine")):
                engine = await drive(
                    "engine",
                    client,
                    server,
                    worker,
                    [partial(engine_journey, client, f"bench-{tag}-{i}") for i in range(n)],
                    at_once,
                )
        finally:
            common.stop_process(worker.process)
        emails = len(list(Path(env["OUTBOX_DIR"]).glob("*.eml")))
        shape, engine_mix = await shape_of(client, [t.workflow_id for t in engine.trips])

        worker = common.start_worker(folder, "floor", ["-m", "bench.floor_worker"], env, options.bytecode)
        try:
            with common.profiled(worker.pid, options.profile_to("throughput-floor")):
                floor = await drive(
                    "floor",
                    client,
                    server,
                    worker,
                    [partial(floor_journey, client, f"{tag}-{i}", shape) for i in range(n)],
                    at_once,
                )
        finally:
            common.stop_process(worker.process)
        _, floor_mix = await shape_of(client, [t.workflow_id for t in floor.trips])

    e, f = engine.figures(), floor.figures()
    return {
        "settings": {
            "onboardings": n,
            "in_flight_at_most": at_once,
            "journey": f"SMB happy path, {len(STEPS)} steps {STEP_SECONDS} s apart (bench/journey.py)",
            "worker": asdict(settings),
        }
        | options.describe(),
        "engine": e | {"emails_per_run": round(emails / n, 2), "event_mix_per_run": engine_mix},
        "floor": f | {"shape": shape.model_dump(), "event_mix_per_run": floor_mix},
        "ratios": {
            "events_per_second": common.ratio(e["history_events_per_second"], f["history_events_per_second"]),
            "runs_per_second": common.ratio(e["per_second"], f["per_second"]),
            "worker_cpu_per_run": common.ratio(e["worker_cpu_ms_per_run"], f["worker_cpu_ms_per_run"]),
            "server_cpu_per_run": common.ratio(e["server_cpu_ms_per_run"], f["server_cpu_ms_per_run"]),
            "history_events_per_run": common.ratio(e["history_events_per_run"], f["history_events_per_run"]),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("-n", type=int, help="onboardings (default 2000; quick 200; smoke 5)")
    parser.add_argument("--at-once", type=int, default=1000, help="journeys in flight at most (default 1000)")
    parser.add_argument(
        "--sticky-queue-seconds",
        type=float,
        default=common.WorkerSettings.sticky_queue_seconds,
        help="both workers' WORKER_STICKY_QUEUE_SECONDS (default: the worker's own default)",
    )
    args = parser.parse_args(argv)
    n = args.n or common.sized(args, smoke=5, quick=200, full=2000)
    started = time.monotonic()
    figures = asyncio.run(measure(n, min(args.at_once, n), common.Options.from_args(args), args.sticky_queue_seconds))
    common.write("throughput", args, figures, started)
    r = figures["ratios"]
    print(
        f"throughput: engine {figures['engine']['per_second']}/s, floor {figures['floor']['per_second']}/s; "
        f"events/s ratio {r['events_per_second']}, worker CPU per run ratio {r['worker_cpu_per_run']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
