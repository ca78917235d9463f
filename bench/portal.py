"""`python -m bench.portal [--quick|--smoke]`: how long the customer's plan page takes, against the intake's /healthz.

N SMB onboardings are signed on a real dev server with the engine's worker; once each has
sent its welcome email the worker is idle. The intake (`python starter.py serve`, which
serves the portal) runs as its own process. Then R requests go out one at a time over one
keep-alive connection, alternating: a champion's plan page (its personal link, as the
welcome email carries it; round-robin over the onboardings), and /healthz, which does no
work: the difference is what the page costs (the plan query to Temporal, which answers from
the worker's cached workflow, and rendering). p50 / p95 / p99 of each, in the same run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

import starter
from bench import common
from bench.journey import contract
from bench.latency import arrived
from onboarding.journey.state import onboarding_ref
from portal import tokens
from portal.config import PortalSettings

SECRET = "bench-intake-secret-0123456789"


def serve_intake(folder: Path, env: dict[str, str], port: int, bytecode: bool) -> common.WorkerProcess:
    """`python starter.py serve` from the project's copy, once /healthz answers."""
    log = folder / "intake.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "starter.py", "serve", "--port", str(port)],
            cwd=common.project_copy(folder, bytecode),
            env=common.child_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return common.WorkerProcess(process, log)
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            common.stop_process(process)
            raise RuntimeError(f"the intake did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def timed(http: httpx.Client, url: str, expect: str) -> float:
    began = time.perf_counter()
    response = http.get(url)
    took = time.perf_counter() - began
    if response.status_code != 200 or expect not in response.text:
        raise RuntimeError(f"GET {url.split('/p/')[0]}: {response.status_code}, not the page expected")
    return took


async def measure(onboardings: int, requests: int, options: common.Options) -> dict[str, Any]:
    settings = common.WorkerSettings()
    with common.scratch(options.keep) as folder, common.dev_server(folder) as server:
        common.write_roster(folder, onboardings)
        port = common.free_port()
        keys = Fernet.generate_key().decode()
        env = common.engine_env(folder, server, options.database_url) | settings.env()
        env |= {"INTAKE_SECRET": SECRET, "PORTAL_KEYS": keys, "PORTAL_URL": f"http://127.0.0.1:{port}/portal"}
        outbox = Path(env["OUTBOX_DIR"])
        client = await common.connect(server)
        worker = common.start_worker(folder, "engine", ["worker.py"], env, options.bytecode)
        intake = serve_intake(folder, env, port, options.bytecode)
        try:
            os.environ |= {"PORTAL_KEYS": keys, "PORTAL_URL": env["PORTAL_URL"]}
            portal = PortalSettings.from_env()
            links = []
            tag = os.urandom(3).hex()
            for i in range(onboardings):
                signed = contract(f"portal-{tag}-{i}")
                handle = await starter.start(client, signed)
                await arrived(outbox, f"{onboarding_ref(handle.id, handle.result_run_id or '')}/signed.welcome")
                champion = signed.contact("champion").email
                links.append((tokens.url(portal, tokens.issue(portal, signed.account_id, champion)), signed.company))
            await asyncio.sleep(2)  # the worker finishes the welcome's bookkeeping: idle from here
            pages: list[float] = []
            health: list[float] = []
            with httpx.Client(timeout=30) as http:
                for link, company in links:  # warm-up: each onboarding's first query
                    timed(http, link, company)
                for n in range(requests):
                    link, company = links[n % len(links)]
                    pages.append(timed(http, link, company))
                    health.append(timed(http, f"http://127.0.0.1:{port}/healthz", "ok"))
                size = len(http.get(links[0][0]).content)
            if errors := common.worker_errors(worker):
                raise RuntimeError("the worker logged errors:\n" + "\n".join(errors[:5]))
        finally:
            common.stop_process(intake.process)
            common.stop_process(worker.process)
    page, healthz = common.percentiles(pages), common.percentiles(health)
    return {
        "settings": {"onboardings": onboardings, "requests": requests, **options.describe()},
        "plan_page": page,
        "healthz": healthz,
        "page_bytes": size,
        "page_over_healthz_p50": common.ratio(page["p50_ms"], healthz["p50_ms"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__, workers=True)
    parser.add_argument("--onboardings", type=int, help="onboardings with a plan (default 50; quick 10; smoke 2)")
    parser.add_argument("--requests", type=int, help="page requests, each with a /healthz (default 2000; quick 300)")
    args = parser.parse_args(argv)
    onboardings = args.onboardings or common.sized(args, smoke=2, quick=10, full=50)
    requests = args.requests or common.sized(args, smoke=20, quick=300, full=2000)
    started = time.monotonic()
    figures = asyncio.run(measure(onboardings, requests, common.Options.from_args(args)))
    common.write("portal", args, figures, started)
    print(f"portal: plan page {figures['plan_page']}, /healthz {figures['healthz']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
