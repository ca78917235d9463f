"""`python -m bench.replay [--quick|--smoke]`: the CPU to replay one onboarding from its history.

A run evicted from the worker's cache (or picked up by another worker) is rebuilt by
replaying its whole history through the workflow code: this is what history length costs
when many idle onboardings wake at once, and it is nearly all the workflow code's own CPU.
Each segment's happy path and worst case (the histories bench.history measures) are
replayed in a fresh worker process, once with compiled bytecode and once without: the
workflow sandbox imports the workflow's module afresh for every run it builds, so without
bytecode every replay compiles workflows/onboarding.py again (the Docker image today).
A third replay runs without the sandbox, to show what its safety net costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from adapters.email.render import available
from bench import common
from bench.history import JOURNEYS, SCENARIOS, SEGMENTS, closed_onboardings
from onboarding import playbook
from onboarding.models import Segment
from simulator.run import Simulator
from simulator.scenario import load


async def record(journeys: list[tuple[Segment, str]], folder: Path) -> list[Path]:
    """Each journey's onboarding run (up to completion), as a history file."""
    paths = []
    async with Simulator() as sim:
        for segment, journey in journeys:
            before = await closed_onboardings(sim.client)
            plan = playbook.for_segment(segment, available())
            await sim.simulate(load(SCENARIOS / f"{segment}_{journey}.yaml"), plan)
            ((workflow_id, first_run),) = (await closed_onboardings(sim.client)).items() - before.items()
            history = await sim.client.get_workflow_handle(workflow_id, run_id=first_run).fetch_history()
            path = folder / f"{segment}_{journey}.json"
            path.write_text(history.to_json())
            paths.append(path)
    return paths


async def replay(paths: list[Path], rounds: int, sandboxed: bool = True) -> dict[str, Any]:
    """In this process: replay every history `rounds` times; CPU milliseconds per replay (fastest, median)."""
    from workflows.onboarding import OnboardingWorkflow

    replayer = Replayer(
        workflows=[OnboardingWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner() if sandboxed else UnsandboxedWorkflowRunner(),
    )
    out = {}
    for path in paths:
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        cpu = []
        for _ in range(rounds):
            began = time.process_time()
            await replayer.replay_workflow(history)
            cpu.append(time.process_time() - began)
        cpu.sort()
        out[path.stem] = {
            "events": len(history.events),
            "cpu_ms": round(cpu[0] * 1000, 1),
            "cpu_ms_median": round(cpu[len(cpu) // 2] * 1000, 1),
            "cpu_us_per_event": round(cpu[0] / len(history.events) * 1e6, 1),
        }
    return out


def in_worker_process(
    folder: Path, paths: list[Path], rounds: int, bytecode: bool, sandboxed: bool = True
) -> dict[str, Any]:
    """Replay in a fresh process run from the project's copy, with or without compiled bytecode."""
    copy = common.project_copy(folder / ("compiled" if bytecode else "source"), bytecode)
    env = {"PYTHONDONTWRITEBYTECODE": "1"} if not bytecode else {}
    done = subprocess.run(
        [sys.executable, "-m", "bench.replay", "--replay", *map(str, paths), "--rounds", str(rounds)]
        + ([] if sandboxed else ["--unsandboxed"]),
        cwd=copy,
        env=common.child_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"replay failed:\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout)
    return figures


def compile_cost(rounds: int = 50) -> float:
    """CPU milliseconds to compile workflows/onboarding.py: what each new workflow instance pays without bytecode."""
    source = (common.ROOT / "workflows" / "onboarding.py").read_text()
    began = time.process_time()
    for _ in range(rounds):
        compile(source, "workflows/onboarding.py", "exec")
    return round((time.process_time() - began) / rounds * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("--replay", nargs="+", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--unsandboxed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, help="replays of each history (default 20; quick 10; smoke 2)")
    args = parser.parse_args(argv)
    rounds = args.rounds or common.sized(args, smoke=2, quick=10, full=20)
    if args.replay:
        print(json.dumps(asyncio.run(replay(args.replay, rounds, not args.unsandboxed))))
        return 0
    everything = [(s, j) for s in SEGMENTS for j in JOURNEYS]
    journeys = common.sized(args, smoke=everything[:1], quick=everything[:2], full=everything)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        folder = Path(scratch)
        paths = asyncio.run(record(journeys, folder))
        compiled = in_worker_process(folder, paths, rounds, bytecode=True)
        source = in_worker_process(folder, paths, rounds, bytecode=False)
        unsandboxed = in_worker_process(folder, paths, rounds, bytecode=True, sandboxed=False)
    figures = {
        name: {
            "events": compiled[name]["events"],
            "compiled": compiled[name],
            "no_bytecode": source[name],
            "unsandboxed": unsandboxed[name],
        }
        for name in compiled
    }
    common.write(
        "replay",
        args,
        {"settings": {"rounds": rounds}, "compile_workflow_module_ms": compile_cost(), "histories": figures},
        started,
    )
    for name, f in figures.items():
        print(
            f"replay: {name}: {f['events']} events, {f['compiled']['cpu_ms']} ms compiled, "
            f"{f['no_bytecode']['cpu_ms']} ms without bytecode, {f['unsandboxed']['cpu_ms']} ms unsandboxed",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
