"""A private Temporal dev server in a scratch folder, on free ports: a benchmark never touches a developer's stack."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from connection import binary
from stack import SA_TYPES, connect_when_healthy, wait_for_port
from workflows import attributes


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
