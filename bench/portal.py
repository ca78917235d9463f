"""`python -m bench.portal [--quick|--smoke]`: how long the customer's plan page takes, against the intake's /healthz.

N SMB onboardings are signed on a real dev server with the engine's worker; once each has
sent its welcome email the worker is idle. The intake (`python starter.py serve`, which
serves the portal) runs as its own process. Then R requests go out one at a time over one
keep-alive connection, alternating: a champion's plan page (its personal link, as the
welcome email carries it; round-robin over the onboardings), and /healthz, which does no
work: the difference is what the page costs (the plan query to Temporal, which answers from
the worker's cached workflow, and rendering). p50 / p95 / p99 of each, in the same run.
The plan page under load is bench/latency.py's.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx

from bench import common
from bench.engine import paced, page, resting, running


async def measure(onboardings: int, requests: int, options: common.Options) -> dict[str, Any]:
    async with running(options, onboardings) as engine:
        tag = os.urandom(3).hex()
        plans = await resting(engine, [f"portal-{tag}-{i}" for i in range(onboardings)])
        async with httpx.AsyncClient(timeout=30) as http:

            async def plan(n: int) -> None:
                await page(http, plans[n % len(plans)].link, plans[n % len(plans)].company)

            async def either(n: int) -> None:  # even: a plan page; odd: /healthz
                await (plan(n // 2) if n % 2 == 0 else page(http, f"{engine.intake}/healthz", "ok"))

            await paced(plan, 0, lambda n: n < len(plans))  # warm-up: each onboarding's first query
            took = await paced(either, 0, lambda n: n < 2 * requests)
            size = len((await http.get(plans[0].link)).content)
    plan_page, healthz = common.percentiles(took[0::2]), common.percentiles(took[1::2])
    return {
        "settings": {"onboardings": onboardings, "requests": requests, **options.describe()},
        "plan_page": plan_page,
        "healthz": healthz,
        "page_bytes": size,
        "page_over_healthz_p50": common.ratio(plan_page["p50_ms"], healthz["p50_ms"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    common.split_workers_argument(parser)
    parser.add_argument("--onboardings", type=int, help="onboardings with a plan (default 50; quick 10; smoke 2)")
    parser.add_argument("--requests", type=int, help="page requests, each with a /healthz (default 2000; quick 300)")
    args = parser.parse_args(argv)
    onboardings = args.onboardings or common.sized(args, smoke=2, quick=10, full=50)
    requests = args.requests or common.sized(args, smoke=20, quick=300, full=2000)
    figures = common.run("portal", args, measure(onboardings, requests, common.Options.from_args(args)))
    print(f"portal: plan page {figures['plan_page']}, /healthz {figures['healthz']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
