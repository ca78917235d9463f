"""`python -m bench.simulation [--quick|--smoke]`: how fast the simulator runs playbooks, in virtual days a second.

Each segment's journeys (bench/scenarios/ and the silent customer who never does anything)
run one after another on one simulator, as `python admin.py simulate` runs them. Then the
issue's two targets, each measured directly:
- the enterprise worst case (bench/scenarios/enterprise_worst_case.yaml), its wall seconds
  on a running simulator, the median of three runs (smoke: one);
- a batch of scenario files as `python admin.py simulate --batch DIR` runs them (simulator
  lanes started, and their start counted): the pinned playbook rules of tests/scenarios/
  cycled to 100 scenarios (quick: 20; smoke: the SMB happy path of bench/scenarios/ once).
The worst case's CPU time per run is split by who spent it: the worker's threads (workflow
code, activities, the event loop that drives the SDK and the simulator, the SDK's core) and
the time-skipping server, a process of its own. Its floor: Temporal alone doing the same
work on the same server (bench/simulation_floor.py), as many times.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from adapters.email.render import available
from bench import common, procfs
from bench.history import SCENARIOS, SEGMENTS
from bench.simulation_floor import floor_runs, shape_of
from onboarding import playbook
from onboarding.models import Segment
from simulator.batch import Job, lanes_for, simulate_all
from simulator.run import Result, Simulator
from simulator.scenario import SILENT, Scenario, load

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "scenarios"
WORST = SCENARIOS / "enterprise_worst_case.yaml"


# Python thread names (prefixes) -> who runs there; threads Python does not know are the SDK core's.
THREADS = (
    ("temporal_workflow_", "workflow_code"),
    ("ThreadPoolExecutor", "activities"),
    ("MainThread", "event_loop"),
)


def cpu_by_part() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by part, and of the time-skipping server."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    parts: dict[str, float] = defaultdict(float)
    for tid, seconds in procfs.thread_cpu_seconds(os.getpid()).items():
        name = names.get(tid)
        part = "sdk_core" if name is None else next((p for prefix, p in THREADS if name.startswith(prefix)), "other")
        parts[part] += seconds
    parts["time_skipping_server"] = sum(procfs.cpu_seconds(child) for child in procfs.children(os.getpid()))
    return parts


def speed(results: list[Result], seconds: float) -> dict[str, Any]:
    days = sum(r.days for r in results)
    return {
        "runs": len(results),
        "virtual_days": round(days, 1),
        "seconds": round(seconds, 2),
        "days_per_second": round(days / seconds, 1),
        "history_events": sum(r.history_events for r in results),
    }


async def per_segment(journeys: dict[Segment, list[tuple[str, Scenario]]], repeats: int) -> dict[str, Any]:
    """Each segment's journeys on one simulator, then the enterprise worst case `repeats` times more."""
    out: dict[str, Any] = {}
    async with Simulator() as sim:
        for segment, scenarios in journeys.items():
            plan = playbook.for_segment(segment, available())
            for name, scenario in scenarios:
                result = await sim.simulate(scenario, plan)
                out.setdefault(segment, {})[name] = speed([result], result.seconds)
        worst = load(WORST)
        plan = playbook.for_segment("enterprise", available())
        before = cpu_by_part()
        results = [await sim.simulate(worst, plan) for _ in range(repeats)]
        spent = {part: seconds - before.get(part, 0.0) for part, seconds in cpu_by_part().items()}
        shape = await shape_of(sim.client, results[-1].workflow_id)
        floor = await floor_runs(sim.client, shape, repeats)
    runs = [r.seconds for r in results]
    return {
        "segments": out,
        "enterprise_worst_case": {
            "file": str(WORST.relative_to(ROOT)),
            "virtual_days": worst.days,
            "runs": runs,
            "seconds": statistics.median(runs),
            "cpu_seconds_per_run": {part: round(seconds / repeats, 3) for part, seconds in sorted(spent.items())},
            "floor": {"shape": shape.model_dump(), "runs": floor, "seconds": statistics.median(floor)},
            "engine_over_floor": round(statistics.median(runs) / statistics.median(floor), 2),
        },
    }


async def batch(files: list[Path], count: int, folder: Path) -> dict[str, Any]:
    """`files` cycled to `count` scenarios, through simulator.batch as `admin.py simulate --batch` runs them."""
    plans = {segment: playbook.for_segment(segment, available()) for segment in SEGMENTS}
    jobs = []
    for path in itertools.islice(itertools.cycle(files), count):
        scenario = load(path)
        segment: Segment = scenario.segment or path.parent.name  # type: ignore[assignment]
        jobs.append(Job(scenario, plans[segment]))
    began = time.monotonic()
    results = []
    async for outcome in simulate_all(jobs):
        if not isinstance(outcome, Result):
            raise outcome
        results.append(outcome)
    return {
        "files": f"{folder.relative_to(ROOT)}: {len(files)} files, cycled to {count} scenarios",
        "lanes": lanes_for(count),
    } | speed(results, time.monotonic() - began)


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    args = parser.parse_args(argv)
    full = not (args.quick or args.smoke)
    journeys: dict[Segment, list[tuple[str, Scenario]]] = {
        segment: [
            ("happy_path", load(SCENARIOS / f"{segment}_happy_path.yaml")),
            *([("worst_case", load(SCENARIOS / f"{segment}_worst_case.yaml")), ("silent_customer", SILENT)] * full),
        ]
        for segment in common.sized(args, smoke=SEGMENTS[:1], quick=SEGMENTS, full=SEGMENTS)
    }
    pinned = sorted(PINNED.rglob("*.yaml"))
    files, count, folder = common.sized(
        args,
        smoke=([SCENARIOS / "smb_happy_path.yaml"], 1, SCENARIOS),
        quick=(pinned, 20, PINNED),
        full=(pinned, 100, PINNED),
    )
    started = time.monotonic()
    figures = asyncio.run(per_segment(journeys, common.sized(args, smoke=1, quick=3, full=3)))
    figures["batch"] = asyncio.run(batch(files, count, folder))
    common.write("simulation", args, figures, started)
    w, b = figures["enterprise_worst_case"], figures["batch"]
    print(
        f"simulation: enterprise worst case {w['seconds']} s; batch of {b['runs']} in {b['seconds']} s "
        f"on {b['lanes']} lane(s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
