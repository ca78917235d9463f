"""A simulated journey in words: the dated timeline and the summary CS ops read, or one batch line."""

from __future__ import annotations

from dataclasses import dataclass

from onboarding.models import VENDOR_ROLES
from reports.words import plural
from simulator.run import Result
from simulator.timeline import Entry


@dataclass(frozen=True)
class Summary:
    """The figures CS teams judge an onboarding by (DOMAIN.md KPIs), for one simulated customer."""

    automated: int  # emails the engine sent to the customer side
    human: int  # contacts people made: kickoffs, logged personal touches
    team_notices: int  # emails to the vendor's own people (reminders, escalation notices, hand-overs)
    escalations: list[Entry]
    rejected: int

    @property
    def automation_rate(self) -> float | None:
        total = self.automated + self.human
        return self.automated / total if total else None


def summarize(result: Result) -> Summary:
    emails = [e for e in result.timeline if e.kind == "email"]
    return Summary(
        automated=sum(e.to not in VENDOR_ROLES for e in emails),
        human=result.human_touches,
        team_notices=sum(e.to in VENDOR_ROLES for e in emails),
        escalations=[e for e in result.timeline if e.kind in ("escalation", "task")],
        rejected=sum(e.kind == "rejected" for e in result.timeline),
    )


def _what(entry: Entry) -> str:
    if entry.kind in ("event", "action"):
        return f"» {entry.name}" + (f" ({entry.detail})" if entry.detail else "")
    return f"{entry.name}: {entry.detail}" if entry.detail else entry.name


def timeline_lines(result: Result) -> list[str]:
    lines = [f"{'day':>6}  {'date':<10}  {'kind':<10}  {'to':<25}  what"]
    for e in result.timeline:
        kind = "customer" if e.kind == "event" else ("csm" if e.kind == "action" else e.kind)
        date = f"{e.at:%a %-d %b}"
        lines.append(f"{e.day:>6.2f}  {date:<10}  {kind:<10}  {e.to or '':<25}  {_what(e)}")
    return lines


def outcome_words(result: Result) -> str:
    if result.outcome == "completed":
        return f"completed; time to first value {result.days_to_first_value:g} days"
    if result.outcome == "cancelled":
        cancelled = next(e for e in result.timeline if e.kind == "cancelled")
        return f"cancelled on day {cancelled.day:g} ({cancelled.name})"
    phase = next((e.name for e in reversed(result.timeline) if e.kind == "phase"), "-")
    health = next((e.name for e in reversed(result.timeline) if e.kind == "health"), "green")
    return f"still onboarding on day {result.days:g} (phase {phase}, health {health})"


def summary_lines(result: Result) -> list[str]:
    s = summarize(result)
    rate = f"; automation rate {s.automation_rate:.0%}" if s.automation_rate is not None else ""
    escalations = ", ".join(f"{e.name} to {e.to} (day {e.day:g})" for e in s.escalations) or "none"
    return [
        "Summary",
        f"  outcome          {outcome_words(result)}",
        f"  touches          {s.automated} automated to the customer, {s.human} by people{rate}",
        f"  team notices     {plural(s.team_notices, 'email')} to the CS team",
        f"  escalations      {len(s.escalations)}: {escalations}" if s.escalations else "  escalations      none",
        f"  rejected         {s.rejected} of the scenario's actions",
        f"  history          {plural(result.history_events, 'event')} in {plural(result.runs, 'run')}; "
        f"simulated in {result.seconds:g} s",
    ]


def readable(result: Result) -> str:
    head = (
        f"{result.playbook} ({result.segment}), scenario {result.scenario}: "
        f"{result.days:g} days from signing on {result.signed_at:%a %-d %b %Y}"
    )
    return "\n".join([head, "", *timeline_lines(result), "", *summary_lines(result)])


def batch_line(name: str, result: Result, mismatches: list[str] | None) -> str:
    """One scenario of a batch: `name  segment  outcome  touches  escalations  ...  expectations`."""
    s = summarize(result)
    ttfv = f"{result.days_to_first_value:g}d" if result.days_to_first_value is not None else "-"
    verdict = (
        "" if mismatches is None else ("  expect ok" if not mismatches else f"  EXPECT FAILED ({len(mismatches)})")
    )
    return (
        f"{name:<40} {result.segment:<10} {result.outcome:<9} ttfv {ttfv:<7} "
        f"touches {s.automated:>3} auto/{s.human:<2} human  escalations {len(s.escalations):>2}  "
        f"rejected {s.rejected}  history {result.history_events:>4}  {result.seconds:5.2f}s{verdict}"
    )
