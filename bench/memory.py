"""`python -m bench.memory [--quick|--smoke]`: where a cached idle onboarding's worker memory goes.

N SMB onboardings (300 full, 100 quick, 5 smoke) are signed on a private dev server and rest on
their timers (the SMB playbook with a day lasting an hour: nothing fires before the readings),
every one in the worker's cache. The worker runs in a child process that measures itself, each
variant in a fresh one:

    production    worker.build_worker, as `python worker.py` builds it: sandboxed workflows, cache 1000
    unsandboxed   the same with UnsandboxedWorkflowRunner: production - unsandboxed is the sandbox's share
    no_cache      max_cached_workflows=0: production - no_cache is the cache's share
    arena_max_2   production with MALLOC_ARENA_MAX=2: arena_max_2 - production is what fewer arenas change

WARMUP onboardings at once warm the worker up (modules imported, activity threads started); its RSS
is read and tracemalloc starts. Once every onboarding rests (its welcome email in the outbox, then
SETTLE seconds) and after gc, RSS is read and the live allocations made since are taken. Per
onboarding, KiB: RSS growth; traced growth; tracemalloc's own bookkeeping; untraced = RSS - traced -
tracemalloc's (the SDK's Rust core, the allocator's free or fragmented memory, C extensions). Traced
growth is split by each allocation's traceback: `sandbox_module_copies` if a frame is the import
system (importlib._bootstrap*); else by the innermost frame that is the sandbox's (temporalio/worker/
workflow_sandbox, also `sandbox_module_copies`), the SDK's (other temporalio/), pydantic's or the
engine's (onboarding/, workflows/, activities/, adapters/); else `other`. Its top lines are listed too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import json
import os
import sys
import time
import tracemalloc
from asyncio.subprocess import PIPE
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import starter
from bench import common, report
from bench.idle import until_all
from bench.journey import contract
from bench.playbook import compressed

VARIANTS = ("production", "unsandboxed", "no_cache", "arena_max_2")
DIFFERENCES = {  # name: (minuend, subtrahend)
    "sandbox_share": ("production", "unsandboxed"),
    "cache_share": ("production", "no_cache"),
    "arena_effect": ("arena_max_2", "production"),
}
GROUPS = ("sandbox_module_copies", "temporalio_sdk", "pydantic", "engine", "other")
IMPORTS = "<frozen importlib._bootstrap"  # and _bootstrap_external
ENGINE = tuple(f"{common.ROOT}/{package}/" for package in ("onboarding", "workflows", "activities", "adapters"))
SECONDS_PER_DAY = 3600.0  # the playbook's first timers (day 1) an hour away: nothing fires while measured
WARMUP = 30  # more onboardings at once than activity slots (20)
SETTLE = 5.0
FRAMES = 10  # deep enough to reach the import system from a sandboxed module's body
TOP = 10
WAIT = 600.0  # seconds a child may take for one step


def rss_kib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


def site(filename: str) -> str:
    for marker in ("/site-packages/", f"{common.ROOT}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def group(traceback: tracemalloc.Traceback) -> str:
    names = [frame.filename for frame in traceback]
    if any(name.startswith(IMPORTS) for name in names):
        return "sandbox_module_copies"
    for name in reversed(names):  # innermost first: the sandbox's activation frames are only on the way
        if "/temporalio/worker/workflow_sandbox/" in name:
            return "sandbox_module_copies"
        if "/temporalio/" in name:
            return "temporalio_sdk"
        if "/pydantic" in name:  # pydantic and pydantic_core
            return "pydantic"
        if name.startswith(ENGINE):
            return "engine"
    return "other"


def snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])


def figures(n: int, rss: float, before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, own: int) -> dict[str, Any]:
    """Per onboarding, KiB: what the worker gained between the two readings, and where the traced part went."""
    groups = dict.fromkeys(GROUPS, 0)
    for diff in after.compare_to(before, "traceback"):
        groups[group(diff.traceback)] += diff.size_diff
    traced = sum(groups.values())
    lines = sorted(after.compare_to(before, "lineno"), key=lambda d: d.size_diff, reverse=True)[:TOP]

    def each(size: float) -> float:
        return round(size / 1024 / n, 1)

    return {
        "rss_kib": round(rss / n, 1),
        "traced_kib": each(traced),
        "tracemalloc_kib": each(own),
        "untraced_kib": round(rss / n - traced / 1024 / n - own / 1024 / n, 1),
        "groups_kib": {name: each(size) for name, size in groups.items()},
        "top_sites_kib": {f"{site(d.traceback[0].filename)}:{d.traceback[0].lineno}": each(d.size_diff) for d in lines},
    }


# ---- the child: one worker process, measuring itself ---------------------------------------


async def child(variant: str, n: int, frames: int, dump: Path | None) -> None:
    """Run the engine's worker; on 'start' and 'stop' (standard input) take the readings; print the result."""
    from temporalio.worker import UnsandboxedWorkflowRunner, Worker

    import worker as engine_worker
    from adapters.config import TASK_QUEUE, Settings
    from adapters.db import upgrade
    from connection import connect
    from tuning import Tuning

    settings, tuning = Settings.from_env(), Tuning.from_env()
    upgrade(settings.database_url)
    engine_worker.configure_logging("WARNING")
    engine_worker.install_runtime(None)
    if variant == "unsandboxed":  # build_worker's own Worker, with one more argument (core allows one per queue)
        engine_worker.Worker = functools.partial(Worker, workflow_runner=UnsandboxedWorkflowRunner())  # type: ignore[assignment,misc]
    built = engine_worker.build_worker(await connect(), TASK_QUEUE, tuning, settings)
    running = asyncio.create_task(built.run())
    loop = asyncio.get_running_loop()

    async def command(expected: str) -> None:
        print(f"ready for {expected}", flush=True)
        line = loop.run_in_executor(None, sys.stdin.readline)
        await asyncio.wait({line, running}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()
            raise RuntimeError("the worker stopped")
        if (got := (await line).strip()) != expected:
            raise RuntimeError(f"expected {expected!r} on standard input, got {got!r}")

    await command("start")
    gc.collect()
    rss, threads = rss_kib(), len(os.listdir("/proc/self/task"))
    tracemalloc.start(frames)
    before, own = snapshot(), tracemalloc.get_tracemalloc_memory()
    await command("stop")
    gc.collect()
    rss_after, threads_after = rss_kib(), len(os.listdir("/proc/self/task"))
    own = tracemalloc.get_tracemalloc_memory() - own
    after = snapshot()
    if dump:
        after.dump(str(dump))
    result = figures(n, rss_after - rss, before, after, own) | {
        "rss_mib": [round(rss / 1024, 1), round(rss_after / 1024, 1)],  # at the two readings
        "threads": [threads, threads_after],
    }
    print("result " + json.dumps(result), flush=True)
    # No graceful shutdown: it measures nothing, and once (no_cache, smoke) it waited forever on a send_email
    # activity blocked in SQLAlchemy's pool (Queue.get, Condition.__enter__).
    sys.stderr.flush()
    os._exit(0)


# ---- the parent: a private server, the onboardings, and one child per variant --------------


@dataclasses.dataclass(frozen=True)
class Run:
    n: int
    warmup: int  # onboardings signed at once before the first reading: every activity thread started
    settle: float  # seconds left after the last welcome email before each reading
    frames: int
    keep: bool


async def one_variant(variant: str, run: Run, project: Path) -> dict[str, Any]:
    plan = compressed("smb", SECONDS_PER_DAY)
    cache = 0 if variant == "no_cache" else common.WorkerSettings.max_cached_workflows
    with common.scratch(run.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, run.warmup + run.n)
        env = common.engine_env(folder, server, None) | common.WorkerSettings(max_cached_workflows=cache).env()
        env |= {"MALLOC_ARENA_MAX": "2"} if variant == "arena_max_2" else {}
        (outbox := Path(env["OUTBOX_DIR"])).mkdir(parents=True)
        client = await common.connect(server)
        log = folder / f"worker-{variant}.log"
        command = ["-m", "bench.memory", "--variant", variant, "-n", str(run.n), "--frames", str(run.frames)]
        command += ["--dump", str(folder / "snapshot")] if run.keep else []
        with log.open("wb") as err:
            child = await asyncio.create_subprocess_exec(
                *(sys.executable, *command), cwd=project, env=common.child_env(env), stdin=PIPE, stdout=PIPE, stderr=err
            )
        tag, signed_at = os.urandom(3).hex(), datetime.now(UTC)
        gate = asyncio.Semaphore(50)

        async def sign(first: int, count: int) -> None:
            async def one(i: int) -> None:
                async with gate:
                    signed = contract(f"memory-{tag}-{i}").model_copy(update={"signed_at": signed_at})
                    await starter.start(client, signed, plan)

            await asyncio.gather(*(one(i) for i in range(first, first + count)))
            await until_all(outbox, "signed.welcome", first + count, WAIT + count)
            await asyncio.sleep(run.settle)

        async def say(word: str) -> str:
            assert child.stdin and child.stdout
            if word:
                child.stdin.write(f"{word}\n".encode())
                await child.stdin.drain()
            if line := (await asyncio.wait_for(child.stdout.readline(), WAIT)).decode().strip():
                return line
            await child.wait()
            raise RuntimeError(f"the {variant} child stopped (exit {child.returncode}):\n{log.read_text()[-3000:]}")

        try:
            await say("")  # polling
            await sign(0, run.warmup)
            await say("start")
            began = time.monotonic()
            await sign(run.warmup, run.n)
            rested_in = time.monotonic() - began - run.settle
            result = json.loads((await say("stop")).removeprefix("result "))
            if await asyncio.wait_for(child.wait(), WAIT):
                raise RuntimeError(f"the {variant} child failed (exit {child.returncode}):\n{log.read_text()[-3000:]}")
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        if errors := [line for line in log.read_text().splitlines() if '"level": "ERROR"' in line]:
            raise RuntimeError(f"the {variant} worker logged errors:\n" + "\n".join(errors[:5]))
    return {"max_cached_workflows": cache, "all_rested_seconds": round(rested_in, 1)} | result


def difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    keys = ("rss_kib", "traced_kib", "tracemalloc_kib", "untraced_kib")
    groups = {g: round(a["groups_kib"][g] - b["groups_kib"][g], 1) for g in GROUPS}
    return {k: round(a[k] - b[k], 1) for k in keys} | {"groups_kib": groups}


async def measure(run: Run, variants: list[str], side_by_side: bool) -> dict[str, Any]:
    """Each variant in turn (side by side for --smoke, whose figures mean nothing), then the differences."""
    with common.scratch(run.keep) as folder:
        project = common.project_copy(folder, bytecode=True)
        if side_by_side:
            results = await asyncio.gather(*(one_variant(v, run, project) for v in variants))
            runs = dict(zip(variants, results, strict=True))
        else:
            runs = {v: await one_variant(v, run, project) for v in variants}
    differences = {
        name: {"of": f"{a} - {b}"} | difference(runs[a], runs[b])
        for name, (a, b) in DIFFERENCES.items()
        if a in runs and b in runs
    }
    settings = dataclasses.asdict(run) | {
        "segment": "smb",
        "seconds_per_day": SECONDS_PER_DAY,
        "variants_side_by_side": side_by_side,
        "worker": dataclasses.asdict(common.WorkerSettings()),
        "bytecode": "compiled",
    }
    settings["onboardings"] = settings.pop("n")
    return {"settings": settings, "variants": runs, "differences": differences}


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    parser.add_argument("-n", type=int, help="onboardings measured (default 300; quick 100; smoke 5)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"some of {','.join(VARIANTS)}")
    parser.add_argument("--frames", type=int, default=FRAMES, help=f"tracemalloc frames (default {FRAMES})")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders, with the last snapshot")
    parser.add_argument("--variant", choices=VARIANTS, help="(internal) be the child that runs the worker")
    parser.add_argument("--dump", type=Path, help="(internal) where the child dumps its last snapshot")
    args = parser.parse_args(argv)
    n = args.n or common.sized(args, smoke=5, quick=100, full=300)
    if args.variant:
        asyncio.run(child(args.variant, n, args.frames, args.dump))
        return 0
    variants = args.variants.split(",")
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"--variants: unknown {', '.join(sorted(unknown))}")
    warmup, settle = common.sized(args, smoke=(2, 1.0), quick=(WARMUP, SETTLE), full=(WARMUP, SETTLE))
    run = Run(n, warmup, settle, args.frames, args.keep)
    result = common.run("memory", args, measure(run, variants, side_by_side=args.smoke))
    print(report.memory(result), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
