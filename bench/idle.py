"""`python -m bench.idle [--quick|--smoke]`: many onboardings waiting on timers, and the moment they all fire.

N onboardings (10,000 full, 500 quick) are signed at the same moment on the SMB playbook,
compressed so that its day-1 rules (the CSM's personal-welcome reminder and the day-1 setup
email) fall after every onboarding has started and settled. Then the worker sits idle with
its workflow cache full; its memory is read. When day 1 comes, every onboarding acts at
once: each one no longer in the cache is fetched from the server and replayed from its
history first. The run is repeated with the default cache and with a small one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import starter
from bench import common
from bench.journey import contract
from bench.playbook import compressed

DAY_ONE = ("personal_welcome_reminder.1", "self_serve_setup.day1.1")  # the touches due a day after signing
SETTLE = 10.0  # seconds the worker is left alone before its idle memory is read (less if day 1 is near)
MARGIN = 2.0  # seconds before day 1 by which every onboarding must have started


def sent_at(outbox: Path, touch: str) -> list[float]:
    """When each onboarding's email for one touch reached the outbox (its .eml's modification time)."""
    with os.scandir(outbox) as entries:
        return [e.stat().st_mtime for e in entries if e.name.endswith(f"__{touch}.eml")]


async def until_all(outbox: Path, touch: str, n: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (found := len(sent_at(outbox, touch))) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {found} of {n} onboardings sent {touch} within {seconds:.0f} s")
        await asyncio.sleep(0.5)


async def one_cache(n: int, cache: int, seconds_per_day: float, options: common.Options) -> dict[str, Any]:
    settings = common.WorkerSettings(max_cached_workflows=cache)
    plan = compressed("smb", seconds_per_day)
    with common.scratch(options.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, n)
        env = common.engine_env(folder, server, options.database_url) | settings.env()
        outbox = Path(env["OUTBOX_DIR"])
        outbox.mkdir(parents=True)
        client = await common.connect(server)
        worker = common.start_worker(folder, f"engine-cache-{cache}", ["worker.py"], env, options.bytecode)
        meter = common.Meter(worker.pid)
        try:
            signed_at = datetime.now(UTC)
            day_one = time.time() + seconds_per_day
            tag = os.urandom(3).hex()
            gate = asyncio.Semaphore(50)

            async def begin(i: int) -> None:
                signed = contract(f"idle-{tag}-{i}").model_copy(update={"signed_at": signed_at})
                async with gate:
                    await starter.start(client, signed, plan)

            began = time.monotonic()
            with common.profiled(worker.pid, options.profile_to(f"idle-start-cache-{cache}")):
                await asyncio.gather(*(begin(i) for i in range(n)))
                await until_all(outbox, "signed.welcome", n, max(0.0, day_one - time.time()))
            started_in = time.monotonic() - began
            if time.time() > day_one - MARGIN:
                raise RuntimeError(
                    f"starting {n} onboardings took {started_in:.0f} s, too close to day 1 ({seconds_per_day:g} s): "
                    "raise --seconds-per-day"
                )
            await asyncio.sleep(min(SETTLE, day_one - MARGIN - time.time()))
            idle_rss = common.rss_mb(worker.pid)
            await asyncio.sleep(max(0.0, day_one - time.time()))
            meter.start()
            fired = time.monotonic()
            with common.profiled(worker.pid, options.profile_to(f"idle-act-cache-{cache}")):
                for touch in DAY_ONE:
                    await until_all(outbox, touch, n, 3600)
            cpu = meter.stop()
            polled = time.monotonic() - fired
            acted = sorted(t - day_one for touch in DAY_ONE for t in sent_at(outbox, touch))
            peak = common.peak_rss_mb(worker.pid)
            after = common.rss_mb(worker.pid)
            errors = common.worker_errors(worker)
        finally:
            common.stop_process(worker.process)
        if errors:
            raise RuntimeError("the worker logged errors:\n" + "\n".join(errors[:5]))
    return {
        "max_cached_workflows": cache,
        "onboardings": n,
        "seconds_per_day": seconds_per_day,
        "start_seconds": round(started_in, 1),
        "starts_per_second": round(n / started_in, 1),
        "idle_rss_mb": idle_rss,
        "act_seconds": round(acted[-1], 1),
        "act_seconds_median": round(acted[len(acted) // 2], 1),
        "acted_per_second": round(n / acted[-1], 1),
        "act_worker_cpu_ms_each": round(cpu / n * 1000, 1),
        "act_worker_cpu_over_seconds": round(polled, 1),
        "peak_rss_mb": peak,
        "rss_after_mb": after,
    }


async def measure(n: int, caches: list[int], seconds_per_day: float, options: common.Options) -> dict[str, Any]:
    runs = [await one_cache(n, cache, seconds_per_day, options) for cache in caches]
    return {
        "settings": {
            "onboardings": n,
            "seconds_per_day": seconds_per_day,
            "day_one_touches": list(DAY_ONE),
        }
        | options.describe(),
        "caches": runs,
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("-n", type=int, help="onboardings (default 10000; quick 500; smoke 5)")
    parser.add_argument("--caches", help="workflow cache sizes to compare (default 1000,50; smoke 5)")
    parser.add_argument("--seconds-per-day", type=float, help="default: enough for every start to finish first")
    args = parser.parse_args(argv)
    n = args.n or common.sized(args, smoke=5, quick=500, full=10_000)
    # Day 1 must come after the last start; starts slow down as the onboardings (and the load count) grow.
    day = args.seconds_per_day or common.sized(args, smoke=15.0, quick=60.0, full=60.0) + n * common.sized(
        args, smoke=0.15, quick=0.15, full=0.2
    )
    started = time.monotonic()
    caches = args.caches or common.sized(args, smoke="5", quick="1000,50", full="1000,50")
    figures = asyncio.run(measure(n, [int(c) for c in caches.split(",")], day, common.Options.from_args(args)))
    common.write("idle", args, figures, started)
    for run in figures["caches"]:
        print(f"idle: cache {run['max_cached_workflows']}: {run}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
