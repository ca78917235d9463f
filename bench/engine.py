"""The engine as a customer and a CSM meet it, for the latency and portal benchmarks, and their one timing loop.

`running` starts a private dev server, `python worker.py` and the intake (`python starter.py
serve`, which serves the portal), each as its own process. `resting` signs onboardings and
waits for their welcome emails: each then rests at its first wait, with its champion's
personal link. `paced` times a probe called at a steady pace, one call in flight: the plan
page (`page`), a CSM action (`touch`), or anything else a benchmark hands it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from temporalio.client import Client

import starter
from adapters.email.local import eml_path
from bench.common import Options
from bench.journey import contract
from bench.server import connect, dev_server, free_port, scratch, stop_process
from bench.workers import (
    WorkerProcess,
    WorkerSettings,
    child_env,
    engine_env,
    project_copy,
    start_worker,
    worker_errors,
    write_roster,
)
from onboarding.journey.state import onboarding_ref
from onboarding.messages import HumanTouch
from portal import tokens
from portal.config import PortalSettings
from service import send

SECRET = "bench-intake-secret-0123456789"
WAIT = 60.0  # seconds an email may take before the benchmark gives up
PROBE_NOTE = "latency probe: a check-in call"


@dataclass
class Engine:
    """What a benchmark drives: the client, the worker under test (split: the workflows'), the outbox, the intake."""

    client: Client
    worker: WorkerProcess
    settings: WorkerSettings
    outbox: Path
    intake: str  # http://127.0.0.1:<port>
    portal: PortalSettings


@dataclass(frozen=True)
class Resting:
    """An onboarding resting at its first wait, and its champion's personal link to the plan."""

    workflow_id: str
    link: str
    company: str  # on the plan page: the page is the customer's


def serve_intake(folder: Path, env: dict[str, str], port: int, bytecode: bool) -> WorkerProcess:
    """`python starter.py serve` from the project's copy, once /healthz answers."""
    log = folder / "intake.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "starter.py", "serve", "--port", str(port)],
            cwd=project_copy(folder, bytecode),
            env=child_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return WorkerProcess(process, log)
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            raise RuntimeError(f"the intake did not start:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@contextlib.asynccontextmanager
async def running(options: Options, onboardings: int) -> AsyncIterator[Engine]:
    """The server, the worker (or, split, the two) and the intake for up to `onboardings` open at once.

    A worker's errors fail the run. Split, `Engine.worker` is the one that runs the workflows."""
    settings = WorkerSettings()
    with scratch(options.keep) as folder, dev_server(folder) as server:
        write_roster(folder, onboardings)
        port = free_port()
        keys = Fernet.generate_key().decode()
        env = engine_env(folder, server, options.database_url) | settings.env()
        env |= {"INTAKE_SECRET": SECRET, "PORTAL_KEYS": keys, "PORTAL_URL": f"http://127.0.0.1:{port}/portal"}
        client = await connect(server)
        roles = ("workflows", "activities") if options.split_workers else ("all",)
        workers: list[WorkerProcess] = []
        intake = None
        try:
            for role in roles:
                name = "engine" if role == "all" else f"engine-{role}"
                workers.append(start_worker(folder, name, ["worker.py"], env | {"WORKER_ROLE": role}, options.bytecode))
            intake = serve_intake(folder, env, port, options.bytecode)
            os.environ |= {"PORTAL_KEYS": keys, "PORTAL_URL": env["PORTAL_URL"]}  # to sign the personal links
            portal = PortalSettings.from_env()
            yield Engine(client, workers[0], settings, Path(env["OUTBOX_DIR"]), f"http://127.0.0.1:{port}", portal)
            errors = [line for worker in workers for line in worker_errors(worker)]
        finally:
            if intake:
                stop_process(intake.process)
            for worker in workers:
                stop_process(worker.process)
        if errors:
            raise RuntimeError("the worker logged errors:\n" + "\n".join(errors[:5]))


async def arrived(outbox: Path, key: str) -> None:
    """Until the email's .eml is in the outbox (looked for every 2 ms)."""
    path = eml_path(outbox, key)
    deadline = time.monotonic() + WAIT
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the email {key.split('/', 1)[1]} did not reach the outbox within {WAIT:.0f} s")
        await asyncio.sleep(0.002)


async def resting(engine: Engine, accounts: list[str]) -> list[Resting]:
    """Sign each account (the real SMB playbook) and wait for its welcome; then let the worker settle."""
    out = []
    for account_id in accounts:
        signed = contract(account_id)
        handle = await starter.start(engine.client, signed)
        await arrived(engine.outbox, f"{onboarding_ref(handle.id, handle.result_run_id or '')}/signed.welcome")
        champion = signed.contact("champion").email
        link = tokens.url(engine.portal, tokens.issue(engine.portal, signed.account_id, champion))
        out.append(Resting(handle.id, link, signed.company))
    await asyncio.sleep(2)  # the worker finishes the welcomes' bookkeeping
    return out


async def paced(probe: Callable[[int], Awaitable[None]], every: float, going: Callable[[int], bool]) -> list[float]:
    """Call probe(0), probe(1), ... every `every` seconds while going(calls made so far) says so:
    seconds from each call to its answer.

    One call is in flight at a time, so the probe adds no concurrency of its own; a call that
    overruns its slot delays the next, which then goes at once (no catching up in a burst).
    """
    took: list[float] = []
    due = time.monotonic()
    while True:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        if not going(len(took)):
            return took
        began = time.perf_counter()
        await probe(len(took))
        took.append(time.perf_counter() - began)
        due = max(due + every, time.monotonic())


def before(deadline: float) -> Callable[[int], bool]:
    """Going on until the monotonic clock reaches `deadline`."""
    return lambda _: time.monotonic() < deadline


async def page(http: httpx.AsyncClient, url: str, expect: str) -> None:
    """GET a page; anything but a 200 that shows `expect` is an error, not a sample."""
    response = await http.get(url)
    if response.status_code != 200 or expect not in response.text:
        raise RuntimeError(f"GET {url.split('/p/')[0]}: {response.status_code}, not the page expected")


async def touch(client: Client, workflow_id: str) -> None:
    """The call `python admin.py touch ACCOUNT check_in --note ...` makes: a log_touch update, answered with the
    onboarding's status. A check-in is a fact no SMB rule reads, so it leaves the journey's course as it was."""
    action = HumanTouch(touch="check_in", note=PROBE_NOTE, by="csm-000", id=uuid.uuid4().hex)
    await send.act(client.get_workflow_handle(workflow_id), action)
