"""A scenario's `expect`, checked against what the run did: how a playbook rule is pinned down.

The timeline is compared for the kinds the expectation names, as a set of
`(day, kind, name, to)` lines: each expected line must have happened on that day (to the
hundredth), and nothing else of those kinds may have happened. The order of lines within one
moment is the engine's business, not the rule's.
"""

from __future__ import annotations

from collections import Counter

from simulator.run import Result
from simulator.scenario import Expect

Line = tuple[float, str, str, str | None]


def describe(line: Line) -> str:
    day, kind, name, to = line
    return f"day {day:g} {kind} {name}" + (f" to {to}" if to else "")


def _order(line: Line) -> tuple[float, str, str, str]:
    return (line[0], line[1], line[2], line[3] or "")


def check(expect: Expect, result: Result) -> list[str]:
    """What differs from the expectation, one line each; empty when the run did what was expected."""
    found = []
    if expect.outcome is not None and expect.outcome != result.outcome:
        found.append(f"outcome: expected {expect.outcome}, got {result.outcome}")
    if expect.days_to_first_value is not None and result.days_to_first_value != round(expect.days_to_first_value, 2):
        found.append(f"days_to_first_value: expected {expect.days_to_first_value:g}, got {result.days_to_first_value}")
    kinds = expect.compared_kinds()
    wanted = Counter(e.key() for e in expect.timeline)
    happened: Counter[Line] = Counter((e.day, e.kind, e.name, e.to) for e in result.reported if e.kind in kinds)
    found += [f"missing: {describe(line)}" for line in sorted((wanted - happened).elements(), key=_order)]
    found += [f"unexpected: {describe(line)}" for line in sorted((happened - wanted).elements(), key=_order)]
    return found
