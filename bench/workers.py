"""The processes under test: `python worker.py` (or the floor's worker) from a copy of the project, with its settings.

The worker under test is always a separate process, so its CPU time and memory are its own.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.server import DevServer, free_port, stop_process
from tuning import Tuning

ROOT = Path(__file__).resolve().parent.parent
READY = "worker polling"
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", ".local", "__pycache__", ".*_cache", "*.egg-info", "tests", "docs", "results", "node_modules"
)
# The SDK's histograms (in ms) bench.latency reads, by what they time.
TIMINGS = {
    "temporal_workflow_task_schedule_to_start_latency": "workflow task waiting for the worker",
    "temporal_workflow_task_execution_latency": "workflow task in the worker",
    "temporal_local_activity_execution_latency": "local activity",
    "temporal_activity_execution_latency": "activity",
    "temporal_request_latency": "server call",
}
SEATS_PER_PERSON = 200  # the most onboardings a roster allows one person (adapters/staff.py)


@dataclass(frozen=True)
class WorkerSettings:
    """The tuning both the engine's worker and the floor's run with (tuning.Tuning, as WORKER_* variables)."""

    max_cached_workflows: int = 1000
    max_concurrent_activities: int = 20
    max_concurrent_workflow_tasks: int = 20
    emails_per_second: float = 0  # no send-rate limit: the outbox is local (production default: 25/s)
    sticky_queue_seconds: float = Tuning.sticky_queue_timeout.total_seconds()  # the production default

    def env(self) -> dict[str, str]:
        return {
            "WORKER_MAX_CACHED_WORKFLOWS": str(self.max_cached_workflows),
            "WORKER_MAX_CONCURRENT_ACTIVITIES": str(self.max_concurrent_activities),
            "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str(self.max_concurrent_workflow_tasks),
            "WORKER_EMAILS_PER_SECOND": str(self.emails_per_second),
            "WORKER_STICKY_QUEUE_SECONDS": str(self.sticky_queue_seconds),
        }


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path
    metrics_port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def metrics(self) -> list[tuple[str, str, float]]:
        """The worker's /metrics now: (name, labels, value) a sample; none without a metrics port."""
        if self.metrics_port is None:
            return []
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text
        samples = []
        for line in text.splitlines():
            if line and not line.startswith("#"):
                series, value = line.rsplit(" ", 1)
                name, _, labels = series.partition("{")
                samples.append((name, labels, float(value)))
        return samples

    def workflow_cache(self) -> dict[str, float]:
        """The SDK's workflow-cache counters so far (hits, misses, forced evictions), from the worker's /metrics.

        A miss is a workflow task for an onboarding no longer in memory: the worker fetched its
        history and replayed it first."""
        counts: dict[str, float] = {}
        for name, _, value in self.metrics():
            if name.startswith("temporal_sticky_cache_") and "size" not in name:
                key = name.removeprefix("temporal_sticky_cache_").removesuffix("_total")
                counts[key] = counts.get(key, 0.0) + value
        return counts

    def timings(self) -> dict[str, tuple[float, float]]:
        """The SDK's timers so far, as (total ms, count): a task's wait for the worker and its
        execution, a local activity's and an activity's execution, and each call to the server
        by operation (how long the server took to take a completed task)."""
        totals: dict[str, list[float]] = {}
        for name, labels, value in self.metrics():
            base, _, part = name.rpartition("_")
            if base not in TIMINGS or part not in ("sum", "count"):
                continue
            operation = labels.split('operation="', 1)[1].split('"', 1)[0] if 'operation="' in labels else ""
            key = f"{TIMINGS[base]} {operation}".strip()
            index = 1 if part == "count" else 0
            totals.setdefault(key, [0.0, 0.0])[index] += value
        return {key: (total, count) for key, (total, count) in totals.items()}


def mean_ms(before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Each SDK timer between two readings of `WorkerProcess.timings`: how many ran, their mean in ms."""
    out: dict[str, Any] = {}
    for key, (total, count) in sorted(after.items()):
        was_total, was_count = before.get(key, (0.0, 0.0))
        if count > was_count:
            out[key] = {"count": int(count - was_count), "mean_ms": round((total - was_total) / (count - was_count), 2)}
    return out


def engine_env(folder: Path, server: DevServer, database_url: str | None) -> dict[str, str]:
    """The engine's settings for a benchmark: its own database (SQLite unless given), outbox and roster."""
    return {
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'onboarding.db'}",
        "OUTBOX_DIR": str(folder / "outbox"),
        "STAFF_FILE": str(folder / "staff.yaml"),
        "EMAIL_BACKEND": "outbox",
        "TEMPORAL_ADDRESS": server.address,
        "TEMPORAL_NAMESPACE": "default",
    }


def write_roster(folder: Path, onboardings: int) -> Path:
    """Enough CSMs that `onboardings` at once never go over capacity: every journey does the same work."""
    csms = max(2, math.ceil(onboardings / SEATS_PER_PERSON) + 1)
    people = [
        {
            "id": f"csm-{i:03d}",
            "name": f"CSM {i}",
            "email": f"csm{i}@vendor.example",
            "role": "csm",
            "segments": ["smb", "mid_market", "enterprise"],
            "capacity": SEATS_PER_PERSON,
        }
        for i in range(csms)
    ]
    people += [
        {
            "id": f"is-{i:03d}",
            "name": f"Specialist {i}",
            "email": f"is{i}@vendor.example",
            "role": "implementation_specialist",
            "segments": ["mid_market", "enterprise"],
            "capacity": SEATS_PER_PERSON,
        }
        for i in range(csms)
    ]
    people.append(
        {
            "id": "mgr-000",
            "name": "CS Manager",
            "email": "manager@vendor.example",
            "role": "cs_manager",
            "segments": ["smb", "mid_market", "enterprise"],
            "capacity": SEATS_PER_PERSON,
        }
    )
    path = folder / "staff.yaml"
    path.write_text(yaml.safe_dump({"people": people}))
    return path


def project_copy(folder: Path, bytecode: bool) -> Path:
    """The code the workers run, copied once per benchmark: nobody's edits reach a running benchmark.

    With `bytecode`, every module is compiled first, as a developer's own checkout has it after
    one run. Without, there is no bytecode and none is written, as in the Docker image today
    (PYTHONDONTWRITEBYTECODE=1, no compileall): each module is compiled from source when
    imported, and the workflow sandbox imports the workflow's module afresh for every run.
    """
    copy = folder / "project"
    if not copy.exists():
        shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
        if bytecode:
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(copy)], check=True)
    return copy


def child_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its Temporal, worker, database and bytecode settings, plus `settings`."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEMPORAL_", "WORKER_", "DATABASE_", "PYTHONDONTWRITEBYTECODE"))
    }
    return keep | settings


def start_worker(
    folder: Path, name: str, command: Sequence[str], env: dict[str, str], bytecode: bool = True, seconds: float = 120
) -> WorkerProcess:
    """Start a worker process from the project's copy and wait until it polls its task queue.

    It serves its metrics on a free port, so its workflow-cache counters can be read."""
    metrics_port = free_port()
    env = env | {"WORKER_METRICS_PORT": str(metrics_port)}
    log = folder / f"worker-{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *command],
            cwd=project_copy(folder, bytecode),
            env=child_env(env | ({} if bytecode else {"PYTHONDONTWRITEBYTECODE": "1"})),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + seconds
    while READY not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"worker {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    return WorkerProcess(process, log, metrics_port)


@contextlib.contextmanager
def profiled(pid: int, path: Path | None) -> Iterator[None]:
    """Sample the process with py-spy while the block runs (collapsed stacks to `path`); no-op without a path.

    Only threads holding the interpreter lock are sampled: where the worker's Python CPU goes.
    """
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    sampling = ["--rate", "50", "--nonblocking", "--gil", "--format", "raw"]
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), *sampling, "-o", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def worker_errors(worker: WorkerProcess) -> list[str]:
    """ERROR lines in a worker's log: a benchmark whose worker failed must not report figures."""
    return [line for line in worker.log.read_text(errors="replace").splitlines() if '"level": "ERROR"' in line]
