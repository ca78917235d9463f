"""The latency and portal sections of the report: how long a customer or a CSM waits, idle and under load."""

from __future__ import annotations

from typing import Any

from bench.markdown import table

MEASURES = {"event_to_email": "email", "csm_action": "action", "plan_page": "page"}
POINTS = ("p50_ms", "p95_ms", "p99_ms")


def idle_email(result: dict[str, Any]) -> dict[str, float]:
    """Event -> email with the worker idle; results taken before the load levels kept it straight under "idle"."""
    idle: dict[str, Any] = result["idle"]
    return idle.get("event_to_email", idle)


def at_load(result: dict[str, Any], share: float) -> dict[str, Any] | None:
    """The row of one load level (0.5: half the capacity), if the result has it."""
    return next((row for row in result.get("levels", []) if row["load"] == share), None)


def latency(r: dict[str, Any]) -> str:
    """A curve as a table: a row a load level (idle first), the three measures' percentiles across."""
    s, c, t = r["settings"], r["capacity"], r["target"]
    met = "met" if t["met"] else "not met"
    intro = (
        f"Capacity {c['per_second']} onboardings/s ({c['source']}, {c['seconds']} s). "
        f"Each level starts throughput journeys at a share of it, {s['arrivals']}: {s['warm_up_seconds']:g} s "
        f"warm-up, then {s['window_seconds']:g} s sampled, while a CSM action goes every "
        f"{s['csm_action_every_seconds']:g} s and a plan page every {s['plan_page_every_seconds']:g} s to "
        f"{s['resting_onboardings']} resting onboardings. Idle: {s['idle_onboardings']} onboardings one at a "
        f"time, then the action and page alone for {s['idle_probe_seconds']:g} s. Times in ms. The issue's "
        f"target, event -> email p99 under {t['event_to_email_p99_under_ms']:g} ms at {t['load']:.0%}: "
        f"{t['measured_ms']} ms, {met}."
    )
    if unsent := sum(row.get("emails_unsent_event_before_team", 0) for row in r["levels"]):
        intro += (
            f" Not sampled: {unsent} email(s) the engine rightly never sent, their event having come before "
            "the onboarding's team was assigned, by which time success had completed it past that touch."
        )
    header = ["load", "onboardings/s target / achieved", "samples email / action / page"]
    header += [f"{short} {p.removesuffix('_ms')}" for short in MEASURES.values() for p in POINTS]
    rows = [("idle", "", *_figures(r["idle"]))]
    rows += [
        (f"{row['load']:.0%}", f"{row['target_per_second']} / {row['achieved_per_second']}", *_figures(row))
        for row in r["levels"]
    ]
    return intro + "\n\n" + table(header, rows) + _legs(r) + _timers(r)


LEGS = {
    "to_server": "to the server",
    "waiting_for_worker": "waiting for the worker",
    "workflow_task": "workflow task",
    "waiting_for_activity_slot": "waiting for an activity slot",
    "sending": "sending",
}


def _legs(r: dict[str, Any]) -> str:
    """Where event -> email's time went (bench/breakdown.py), for results that carry it."""
    levels = [("idle", r["idle"]), *((f"{row['load']:.0%}", row) for row in r["levels"])]
    if not all(row.get("event_to_email_legs") for _, row in levels):
        return ""
    intro = (
        "\n\nWhere event -> email's time went, read from each sample's history (bench/breakdown.py): "
        "p50 / p99 of each leg in ms, and its share of the mean. The workflow task holds the journey's code and "
        "the records lane's local activity; the email's activity is scheduled only when the task completes."
    )
    header = ["load", *LEGS.values()]
    rows = [
        (name, *(_leg(b["legs"][leg], b["share_of_mean"][leg]) for leg in LEGS))
        for name, row in levels
        for b in [row["event_to_email_legs"]]
    ]
    return intro + "\n\n" + table(header, rows)


def _timers(r: dict[str, Any]) -> str:
    """The worker's own SDK timers (bench/workers.py TIMINGS), for results that carry them."""
    levels = [("idle", r["idle"]), *((f"{row['load']:.0%}", row) for row in r["levels"])]
    if not all(row.get("worker_timers") for _, row in levels):
        return ""
    names = sorted({name for _, row in levels for name in row["worker_timers"]})
    intro = (
        "\n\nThe same stretches as the worker's SDK timed them (its Prometheus histograms): the mean in ms of "
        "each, over every task, activity and call of the stretch, and how many there were."
    )
    rows = [(name, *(_timer(row["worker_timers"].get(timer)) for timer in names)) for name, row in levels]
    return intro + "\n\n" + table(["load", *names], rows)


def _timer(figures: dict[str, float] | None) -> str:
    return f"{figures['mean_ms']} ({figures['count']})" if figures else ""


def _leg(figures: dict[str, float], share: float) -> str:
    return f"{figures['p50_ms']} / {figures['p99_ms']} ({share:.0%})"


def _figures(row: dict[str, Any]) -> list[Any]:
    samples = " / ".join(str(row[m]["count"]) for m in MEASURES)
    return [samples, *(row[m][p] for m in MEASURES for p in POINTS)]


def portal(r: dict[str, Any]) -> str:
    s = r["settings"]
    intro = (
        f"{s['onboardings']} onboardings; {s['requests']} requests one at a time, alternating a champion's "
        "plan page and the intake's `/healthz` (which does no work)."
    )
    rows = [
        (f"plan page ({r['page_bytes'] / 1000:.0f} KB)", *(f"{r['plan_page'][f'p{q}_ms']} ms" for q in (50, 95, 99))),
        ("`/healthz`", *(f"{r['healthz'][f'p{q}_ms']} ms" for q in (50, 95, 99))),
    ]
    return intro + "\n\n" + table(("request", "p50", "p95", "p99"), rows)
