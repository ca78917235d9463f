"""What every benchmark shares: a private dev server, worker processes, /proc readings, results.

Everything runs on free ports in a scratch folder, so a benchmark never touches a developer's
own stack. The worker under test is always a separate process (`python worker.py` for the
engine, `python -m bench.floor_worker` for the floor), so its CPU time and memory are its own,
read from /proc while it runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import temporalio
import yaml
from temporalio.client import Client

from connection import binary
from stack import SA_TYPES, connect_when_healthy, wait_for_port
from workflows import attributes

Mode = Literal["smoke", "quick", "full"]
T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
READY = "worker polling"
COPY_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", ".local", "__pycache__", ".*_cache", "*.egg-info", "tests", "docs", "results", "node_modules"
)
SEATS_PER_PERSON = 200  # the most onboardings a roster allows one person (adapters/staff.py)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def scratch(keep: bool = False) -> Iterator[Path]:
    """A folder for one benchmark's server state, database, outbox and logs."""
    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield folder
    finally:
        if keep:
            print(f"scratch folder kept: {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


# ---- /proc ------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    """Resident memory now, in MiB."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return round(pages * PAGE / 2**20, 1)


def peak_rss_mb(pid: int) -> float:
    """The most resident memory the process has had (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for process {pid}")


class Meter:
    """CPU seconds a process spends between `start()` and `stop()`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.began = self.used = 0.0

    def start(self) -> None:
        self.began = cpu_seconds(self.pid)

    def stop(self) -> float:
        self.used = round(cpu_seconds(self.pid) - self.began, 2)
        return self.used


# ---- the server -------------------------------------------------------------------------


@dataclass
class DevServer:
    """`temporal server start-dev` with the engine's search attributes, state in a file, as stack.py runs it."""

    address: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def dev_server(folder: Path) -> Iterator[DevServer]:
    port = free_port()
    command = [binary("temporal"), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)]
    command += ["--db-filename", str(folder / "temporal.db"), "--log-level", "error"]
    for key in attributes.ALL:
        command += ["--search-attribute", f"{key.name}={SA_TYPES[int(key.indexed_value_type)]}"]
    with (folder / "temporal.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(port, process)
        yield DevServer(f"127.0.0.1:{port}", process)
    finally:
        stop_process(process)


async def connect(server: DevServer) -> Client:
    return await connect_when_healthy(server.address)


def stop_process(process: subprocess.Popen[Any], seconds: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerSettings:
    """The tuning both the engine's worker and the floor's run with (worker.Tuning, as WORKER_* variables)."""

    max_cached_workflows: int = 1000
    max_concurrent_activities: int = 20
    max_concurrent_workflow_tasks: int = 20
    emails_per_second: float = 0  # no send-rate limit: the outbox is local (production default: 25/s)

    def env(self) -> dict[str, str]:
        return {
            "WORKER_MAX_CACHED_WORKFLOWS": str(self.max_cached_workflows),
            "WORKER_MAX_CONCURRENT_ACTIVITIES": str(self.max_concurrent_activities),
            "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str(self.max_concurrent_workflow_tasks),
            "WORKER_EMAILS_PER_SECOND": str(self.emails_per_second),
        }


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid


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
    """Start a worker process from the project's copy and wait until it polls its task queue."""
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
    return WorkerProcess(process, log)


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


# ---- figures ----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Options:
    """How a benchmark that runs workers runs them."""

    keep: bool = False
    database_url: str | None = None
    bytecode: bool = True
    profile: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        return cls(args.keep, args.database_url, not args.no_bytecode, args.profile)

    def profile_to(self, name: str) -> Path | None:
        return self.profile / f"{name}.txt" if self.profile else None

    def describe(self) -> dict[str, Any]:
        return {
            "database": (self.database_url or "sqlite").split(":", 1)[0],
            "bytecode": "compiled" if self.bytecode else "none (compiled on every import)",
        }
