"""A Markdown table, as docs/benchmarks.md and the README show the benchmarks' figures."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Row = Iterable[Any]


def table(header: Row, rows: Iterable[Row]) -> str:
    head = [str(h) for h in header]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
