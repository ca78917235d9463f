"""How onboardings read in a terminal: times in words, a status summary, a one-line update, tables."""

from __future__ import annotations

import io
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from rich.console import Console
from rich.table import Table

from onboarding.models import Status
from reports.words import plural


def utc(at: datetime) -> datetime:
    """Database rows come back without a zone on SQLite; everything the engine stores is UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def span(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    for unit, size, limit in (("s", 1, 90), ("min", 60, 90 * 60), ("h", 3600, 36 * 3600)):
        if seconds < limit:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds / 86400:.0f} days" if seconds >= 1.5 * 86400 else "1 day"


def when(at: datetime, now: datetime) -> str:
    """'Tue 3 Mar 09:00 UTC (in 2 days)'."""
    at = utc(at)
    relative = f"in {span(at - now)}" if at >= now else f"{span(now - at)} ago"
    return f"{at:%a %-d %b %H:%M} UTC ({relative})"


def activity(status: Status, now: datetime) -> str:
    """When the customer or a CSM last did something, from that moment's own time, as of `now`.

    Not from the workflow's `days_since_last_activity`: a query answers with the time of the
    run's last wake-up, which can be minutes old.
    """
    at = status.last_activity_at
    if at is None or utc(at) <= utc(status.signed_at):
        return "none since signing"
    return f"last {when(at, now)}"


def next_line(status: Status, now: datetime) -> str:
    if status.state in ("completed", "cancelled"):
        return ""
    if status.state == "paused":
        until = f" until {when(status.paused_until, now)}" if status.paused_until else ""
        return f"paused{until}"
    if status.next_action and status.next_action_at:
        return f"{status.next_action}, {when(status.next_action_at, now)}"
    return "no automated touch scheduled"


def one_line(status: Status) -> str:
    """Where an onboarding stands, in one line: printed after every action."""
    now = datetime.now(UTC)
    if status.state in ("completed", "cancelled"):
        return f"onboarding {status.state}."
    coming = next_line(status, now)
    if status.state == "active":
        coming = f"next: {coming}"
    return f"now {status.phase_title} ({status.phase}); health {status.health}; {coming}."


def describe_status(status: Status, details: str, now: datetime) -> str:
    s = status
    done, pending, skipped = s.steps_done, s.steps_pending, s.steps_skipped
    steps = f"{len(done)} done, {len(pending)} pending, {len(skipped)} skipped"
    listed = [f"{name}: {', '.join(ids)}" for name, ids in (("pending", pending), ("skipped", skipped)) if ids]
    lines = [
        f"{s.company} ({s.account_id}) · {s.segment} · {s.state}",
        f"Phase      {s.phase_title} ({s.phase})"
        if s.state in ("active", "paused")
        else f"Ended      {s.state} in {s.phase_title}",
        f"Health     {s.health}: {s.health_reason}",
        f"Owner      {s.owner}",
        *([f"Playbook   {s.playbook}" + (f" (A/B group {s.variant})" if s.variant else "")] if s.playbook else []),
        f"Steps      {steps}" + (f" ({'; '.join(listed)})" if listed else ""),
        f"Modules    {', '.join(s.modules_done) or 'none completed yet'}",
        f"Activity   {activity(s, now)}",
        f"Signed     {when(s.signed_at, now)}",
    ]
    if s.completed_at:
        first_value = plural(s.days_to_first_value or 0, "day")
        lines.append(f"Completed  {when(s.completed_at, now)}, {first_value} to first value")
    elif s.state != "cancelled":
        lines.append(f"Due        {when(s.due_at, now)}")
        lines.append(f"Next       {next_line(s, now)}")
    if details:
        lines += ["", *details.splitlines()]
    if s.open_escalations:
        lines += ["", f"Open escalations ({len(s.open_escalations)}):"]
        lines += [
            f"  {e.id}  to {e.to} ({e.assignee}), opened {when(e.opened_at, now)}: {e.reason}"
            for e in s.open_escalations
        ]
    return "\n".join(lines)


def table(header: list[str], rows: list[list[str]], right: Collection[int] = ()) -> str:
    """Plain aligned columns, two spaces apart, no colour or box: readable piped or in a terminal.

    Columns in `right` are right-aligned (numbers). Cells are text, never markup.
    """
    grid = Table(box=None, pad_edge=False, show_edge=False, header_style=None, padding=(0, 1))
    for i, name in enumerate(header):
        grid.add_column(name, justify="right" if i in right else "left", no_wrap=True)
    for cells in rows:
        grid.add_row(*cells)
    out = io.StringIO()
    Console(file=out, width=100_000, color_system=None, highlight=False, markup=False, emoji=False).print(grid)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
