"""A Markdown table and the machine a result was taken on, as docs/benchmarks.md and the README show them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = Iterable[Any]


def table(header: Row, rows: Iterable[Row]) -> str:
    head = [str(h) for h in header]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def hardware(result: dict[str, Any]) -> str:
    m = result["machine"]
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['memory_mb'] // 1024} GiB; {m['os']}; Python {m['python']}, "
        f"temporalio {m['temporalio']}, {m['temporal_cli']}; commit {m['commit']}."
    )
