"""What every benchmark shares: its options, its sizes, its figures and the JSON it writes.

The private dev server (bench/server.py), the worker processes (bench/workers.py) and the
/proc readings (bench/procfs.py) have their own modules; they are named here too, as
`common.<name>`, the way every benchmark has always called them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import temporalio

from bench.procfs import Meter, cpu_seconds, peak_rss_mb, rss_mb
from bench.server import DevServer, connect, dev_server, free_port, scratch, stop_process
from bench.workers import (
    ROOT,
    WorkerProcess,
    WorkerSettings,
    child_env,
    engine_env,
    profiled,
    project_copy,
    start_worker,
    worker_errors,
    write_roster,
)
from connection import binary

__all__ = [
    "DevServer",
    "Meter",
    "WorkerProcess",
    "WorkerSettings",
    "child_env",
    "connect",
    "cpu_seconds",
    "dev_server",
    "engine_env",
    "free_port",
    "peak_rss_mb",
    "profiled",
    "project_copy",
    "rss_mb",
    "scratch",
    "start_worker",
    "stop_process",
    "worker_errors",
    "write_roster",
]

Mode = Literal["smoke", "quick", "full"]
T = TypeVar("T")
RESULTS = ROOT / "bench" / "results"


def percentiles(samples: Sequence[float], points: Sequence[int] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, in milliseconds from seconds, plus the count."""
    ordered = sorted(samples)
    out: dict[str, float] = {"count": len(ordered)}
    for p in points:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        out[f"p{p}_ms"] = round(ordered[rank - 1] * 1000, 1) if ordered else float("nan")
    return out


def sized(args: argparse.Namespace, smoke: T, quick: T, full: T) -> T:
    """The size for this run's mode."""
    return {"smoke": smoke, "quick": quick, "full": full}[mode(args)]


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def machine() -> dict[str, Any]:
    """The machine and software the figures were taken on, and how busy it was."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = 0
    with contextlib.suppress(OSError):
        memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    version = subprocess.run([binary("temporal"), "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_mb": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": version,
        "commit": commit.stdout.strip(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def mode(args: argparse.Namespace) -> Mode:
    return "smoke" if args.smoke else "quick" if args.quick else "full"


def write(name: str, args: argparse.Namespace, figures: dict[str, Any], started: float) -> Path:
    """<out>/<name>.json (<name>.quick.json, <name>.smoke.json), with the machine and how long the run took."""
    args.out.mkdir(parents=True, exist_ok=True)
    run_mode = mode(args)
    path = args.out / f"{name}{'' if run_mode == 'full' else '.' + run_mode}.json"
    document = {
        "benchmark": name,
        "mode": run_mode,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{name}: wrote {path}", file=sys.stderr)
    return path


def arguments(description: str | None, workers: bool = False) -> argparse.ArgumentParser:
    """The options every benchmark takes, and those of the ones that run `python worker.py`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="the issue's small sizes: figures are rough")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for CI: proves it runs, figures mean nothing")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the JSON goes (default: bench/results)")
    if workers:
        parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, databases)")
        parser.add_argument("--database-url", help="the engine's database (default: a SQLite file, as the local stack)")
        parser.add_argument(
            "--no-bytecode", action="store_true", help="workers without compiled bytecode, as the Docker image runs"
        )
        parser.add_argument(
            "--profile",
            type=Path,
            help="sample the workers with py-spy into this folder (collapsed stacks; bench.hotspots reads them)",
        )
    return parser


def split_workers_argument(parser: argparse.ArgumentParser) -> None:
    """For the benchmarks that start the engine through bench.engine.running."""
    parser.add_argument(
        "--split-workers",
        action="store_true",
        help="the engine as two worker processes on its queue: WORKER_ROLE=workflows and =activities",
    )


@dataclass(frozen=True)
class Options:
    """How a benchmark that runs workers runs them."""

    keep: bool = False
    database_url: str | None = None
    bytecode: bool = True
    profile: Path | None = None
    split_workers: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        split = getattr(args, "split_workers", False)  # only the benchmarks that use bench.engine.running take it
        return cls(args.keep, args.database_url, not args.no_bytecode, args.profile, split)

    def profile_to(self, name: str) -> Path | None:
        return self.profile / f"{name}.txt" if self.profile else None

    def describe(self) -> dict[str, Any]:
        return {
            "database": (self.database_url or "sqlite").split(":", 1)[0],
            "bytecode": "compiled" if self.bytecode else "none (compiled on every import)",
            "engine_workers": "two: WORKER_ROLE=workflows and =activities" if self.split_workers else "one",
        }


def run(name: str, args: argparse.Namespace, measure: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Take the benchmark's figures and write them (<out>/<name>[.mode].json), the run timed from here."""
    started = time.monotonic()
    figures = asyncio.run(measure)
    write(name, args, figures, started)
    return figures
