"""/proc readings of a process: its CPU time and memory, for the benchmark that runs it as its own process."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


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


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU time each thread of the process has used so far, by thread id."""
    out: dict[int, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def children(pid: int) -> list[int]:
    """The process's child processes now."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found
