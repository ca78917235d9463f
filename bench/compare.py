"""What a change did: the same benchmarks, before and after, as `python -m bench.report --before DIR` prints them."""

from __future__ import annotations

from typing import Any

from bench.common import ratio
from bench.markdown import Row, table
from bench.report_latency import at_load, idle_email


def before_after(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> str:
    """What a change did, before and after: the throughput run, idle latency, idle onboardings,
    history per journey and each activity's cost (each where both sides measured it)."""
    rows: list[Row] = []

    def change(was: float, now: float) -> str:
        factor = ratio(now, was)
        return "-" if factor is None else str(factor)

    if "throughput" in before and "throughput" in after:
        b, a = before["throughput"], after["throughput"]
        for label, side, key in (
            ("engine worker CPU ms per onboarding", "engine", "worker_cpu_ms_per_run"),
            ("floor worker CPU ms per run (same run's baseline)", "floor", "worker_cpu_ms_per_run"),
            ("engine onboardings per second", "engine", "per_second"),
            ("engine history events per onboarding", "engine", "history_events_per_run"),
            ("server CPU ms per onboarding", "engine", "server_cpu_ms_per_run"),
        ):
            rows.append((label, b[side][key], a[side][key], change(b[side][key], a[side][key])))
        for label, key in (
            ("worker CPU, engine / floor", "worker_cpu_per_run"),
            ("events/s, engine / floor", "events_per_second"),
        ):
            rows.append((label, b["ratios"][key], a["ratios"][key], change(b["ratios"][key], a["ratios"][key])))
    if "latency" in before and "latency" in after:
        for point in ("p50_ms", "p99_ms"):
            was_ms, now_ms = idle_email(before["latency"])[point], idle_email(after["latency"])[point]
            label = f"event -> email with the worker idle, {point.removesuffix('_ms')} ms"
            rows.append((label, was_ms, now_ms, change(was_ms, now_ms)))
        was_half, now_half = at_load(before["latency"], 0.5), at_load(after["latency"], 0.5)
        if was_half and now_half:
            was_ms, now_ms = was_half["event_to_email"]["p99_ms"], now_half["event_to_email"]["p99_ms"]
            rows.append(("event -> email at 50% of capacity, p99 ms", was_ms, now_ms, change(was_ms, now_ms)))
    if "idle" in before and "idle" in after:
        earlier = {c["max_cached_workflows"]: c for c in before["idle"]["caches"]}
        for cache in after["idle"]["caches"]:
            old = earlier.get(cache["max_cached_workflows"])
            if old is None:
                continue
            name = f"idle onboardings, cache {cache['max_cached_workflows']}"
            for label, key in (
                (f"{name}: worker MiB idle", "idle_rss_mb"),
                (f"{name}: s until all acted", "act_seconds"),
            ):
                rows.append((label, old[key], cache[key], change(old[key], cache[key])))
    if "history" in before and "history" in after:
        for segment, journeys in after["history"]["segments"].items():
            for journey, run in journeys.items():
                was_run = before["history"]["segments"].get(segment, {}).get(journey)
                if was_run is not None:
                    label = f"history events, {segment.replace('_', '-')} {journey.replace('_', ' ')}"
                    rows.append((label, was_run["events"], run["events"], change(was_run["events"], run["events"])))
                    if "largest_run_events" in run:  # runs continue as new mid-onboarding since issue 19
                        was = was_run.get("largest_run_events", was_run["events"])
                        now = run["largest_run_events"]
                        rows.append((f"{label}, largest run", was, now, change(was, now)))
    if "activity_cost" in before and "activity_cost" in after:
        for name, a in after["activity_cost"]["activities"].items():
            b = before["activity_cost"]["activities"].get(name)
            if b is None:
                continue
            for label, key in (
                ("SQL statements", "sql_statements_each"),
                ("commits", "commits_each"),
                ("CPU ms", "cpu_ms_each"),
            ):
                if b[key] or a[key]:  # rendering runs no SQL: no row to say so
                    rows.append((f"{name}: {label} each", b[key], a[key], change(b[key], a[key])))
    return table(("", "before", "after", "after / before"), rows)
