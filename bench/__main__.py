"""`python -m bench [--quick]`: every benchmark, one after another, each writing its JSON.

    python -m bench --smoke          # tiny sizes, about a minute: proves they all run (CI)
    python -m bench --quick          # the issue's small sizes, a quarter of an hour: rough figures
    python -m bench                  # the published sizes (docs/benchmarks.md): hours on a laptop
    python -m bench --only history,simulation

Each benchmark is also its own command (`python -m bench.throughput --help`, ...).
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable

from bench import activity_cost, chatty, common, history, idle, latency, memory, portal, replay, simulation, throughput

BENCHMARKS: dict[str, Callable[[list[str]], int]] = {
    "history": history.main,
    "replay": replay.main,
    "activity_cost": activity_cost.main,
    "simulation": simulation.main,
    "latency": latency.main,
    "throughput": throughput.main,
    "idle": idle.main,
    "chatty": chatty.main,
    "portal": portal.main,
    "memory": memory.main,
}
WORKERS = {"latency", "throughput", "idle", "chatty", "portal"}  # the ones that take --database-url and --no-bytecode


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("--only", help=f"a comma-separated subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"--only: unknown benchmark(s) {', '.join(unknown)}; expected some of {', '.join(BENCHMARKS)}")
    shared = ["--out", str(args.out), *(["--quick"] if args.quick else []), *(["--smoke"] if args.smoke else [])]
    for_workers = [
        *(["--keep"] if args.keep else []),
        *(["--database-url", args.database_url] if args.database_url else []),
        *(["--no-bytecode"] if args.no_bytecode else []),
        *(["--profile", str(args.profile)] if args.profile else []),
    ]
    failed = []
    for name in chosen:
        began = time.monotonic()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            BENCHMARKS[name](shared + (for_workers if name in WORKERS else []))
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
