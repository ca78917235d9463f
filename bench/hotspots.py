"""`python -m bench.hotspots PROFILE.txt`: where a sampled worker spent its time, by function.

Reads py-spy's collapsed stacks (`--profile DIR` on a benchmark writes them) and prints the
functions that were on the stack most often (inclusive) and those that were running
(self), as shares of all samples. Frames from the project are marked with `*`.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from bench.common import ROOT


def frames(stack: str) -> list[str]:
    """'thread;f (file.py:12);g (other.py:3)' -> ['f (file.py)', 'g (other.py)'], line numbers dropped."""
    out = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        out.append(f"{name} ({where.rsplit(':', 1)[0]})" if where else name)
    return out


def ours(frame: str) -> str:
    """Project frames (run from the benchmark's copy, or the checkout) marked `*`, with short paths."""
    for root in ("/project/", f"{ROOT}/"):
        if root in frame and "site-packages" not in frame:
            name, _, where = frame.partition(" (")
            return f"* {name} ({where.split(root, 1)[1]}"
    return f"  {frame}"


def summarise(path: Path, top: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue  # a frame whose name held a line break (py-spy writes it as it is)
        n = int(count)
        total += n
        seen = frames(stack)
        for frame in set(seen):
            inclusive[frame] += n
        own[seen[-1]] += n

    def table(counts: Counter[str]) -> list[str]:
        return [f"{n / total:6.1%}  {ours(frame)}" for frame, n in counts.most_common(top)]

    return "\n".join(
        [f"{path}: {total} samples", "on the stack (inclusive):", *table(inclusive), "running (self):", *table(own)]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    print(summarise(args.profile, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
