"""`python -m bench.simulation [--quick|--smoke]`: how fast the simulator runs playbooks, in virtual days a second.

Each segment's journeys (bench/scenarios/ and the silent customer who never does anything)
run one after another on one simulator, as `python admin.py simulate` runs them; then a
batch of scenario files, as `python admin.py simulate --batch DIR` runs them (full: the
pinned playbook rules in tests/scenarios/; quick: bench/scenarios/; smoke: its SMB happy path).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from adapters.email.render import available
from bench import common
from bench.history import SCENARIOS, SEGMENTS
from onboarding import playbook
from onboarding.models import Segment
from simulator.run import Result, Simulator
from simulator.scenario import SILENT, Scenario, load

ROOT = Path(__file__).resolve().parent.parent
PINNED = ROOT / "tests" / "scenarios"


def speed(results: list[Result], seconds: float) -> dict[str, Any]:
    days = sum(r.days for r in results)
    return {
        "runs": len(results),
        "virtual_days": round(days, 1),
        "seconds": round(seconds, 2),
        "days_per_second": round(days / seconds, 1),
        "history_events": sum(r.history_events for r in results),
    }


async def per_segment(journeys: dict[Segment, list[tuple[str, Scenario]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Simulator() as sim:
        for segment, scenarios in journeys.items():
            plan = playbook.for_segment(segment, available())
            for name, scenario in scenarios:
                result = await sim.simulate(scenario, plan)
                out.setdefault(segment, {})[name] = speed([result], result.seconds)
    return out


async def batch(folder: Path, prefix: str = "") -> dict[str, Any]:
    """Every scenario file under `folder` (whose name starts with `prefix`) on one simulator, server start included."""
    files = sorted(p for p in folder.rglob(f"{prefix}*.yaml"))
    began = time.monotonic()
    results = []
    async with Simulator() as sim:
        for path in files:
            scenario = load(path)
            segment: Segment = scenario.segment or path.parent.name  # type: ignore[assignment]
            results.append(await sim.simulate(scenario, playbook.for_segment(segment, available())))
    return {"files": f"{folder.relative_to(ROOT)}/{prefix}*.yaml"} | speed(results, time.monotonic() - began)


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
    started = time.monotonic()
    figures = {
        "segments": asyncio.run(per_segment(journeys)),
        "batch": asyncio.run(batch(PINNED if full else SCENARIOS, "smb_happy" if args.smoke else "")),
    }
    common.write("simulation", args, figures, started)
    b = figures["batch"]
    print(f"simulation: batch of {b['runs']}: {b['days_per_second']} virtual days a second", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
