"""The README's one table (`python -m bench.report --summary`): a headline figure a benchmark, with its baseline."""

from __future__ import annotations

from typing import Any

from bench.markdown import hardware, table
from bench.report_latency import at_load, idle_email


def timeouts(side: dict[str, Any]) -> float:
    """Workflow tasks that timed out, per run of the sample the event mix counts (any timeout type)."""
    mix = side.get("event_mix_per_run", {})
    return round(sum(n for kind, n in mix.items() if kind.startswith("WORKFLOW_TASK_TIMED_OUT")), 2)


def summary(results: dict[str, dict[str, Any]]) -> str:
    """The README's table: one headline figure a benchmark, with its baseline where it has one."""
    rows = []
    if t := results.get("throughput"):
        e, f, x = t["engine"], t["floor"], t["ratios"]
        n = t["settings"]["onboardings"]
        rows += [
            (
                f"throughput, {n} SMB journeys",
                f"{e['per_second']} onboardings/s",
                f"{f['per_second']} runs/s",
                x["runs_per_second"],
            ),
            (
                "history events per second",
                e["history_events_per_second"],
                f["history_events_per_second"],
                x["events_per_second"],
            ),
            (
                "worker CPU ms per onboarding",
                e["worker_cpu_ms_per_run"],
                f["worker_cpu_ms_per_run"],
                x["worker_cpu_per_run"],
            ),
            ("workflow-task timeouts per onboarding", timeouts(e), timeouts(f), ""),
        ]
    if lat := results.get("latency"):
        waits = [("idle", idle_email(lat))]
        if half := at_load(lat, 0.5):
            waits.append((f"at 50% of capacity, {half['target_per_second']}/s", half["event_to_email"]))
        for label, e in waits:
            figures = f"p50 {e['p50_ms']} / p95 {e['p95_ms']} / p99 {e['p99_ms']} ms"
            rows.append((f"event -> email, {label}", figures, "", ""))
    if idle_ := results.get("idle"):
        for c in idle_["caches"]:
            rows.append(
                (
                    f"{c.get('onboardings', idle_['settings']['onboardings'])} idle onboardings, "
                    f"cache {c['max_cached_workflows']}",
                    f"{c['idle_rss_mb']} MiB idle; all acted in {c['act_seconds']} s",
                    "",
                    "",
                )
            )
    if h := results.get("history"):
        for segment, journeys in h["segments"].items():
            for journey, j in journeys.items():
                label = f"history, {segment.replace('_', '-')} {journey.replace('_', ' ')}"
                runs = f" in {j['runs']} runs, the largest {j['largest_run_events']}" if j.get("runs", 1) > 1 else ""
                rows.append((label, f"{j['events']} events{runs}, {j['bytes'] / 1024:.1f} KiB", "", ""))
    if c := results.get("chatty"):
        label = f"chatty product, {c['events_sent']} events"
        value = f"{c['runs']} runs, largest {c['largest_run_events']} events; {c['events_recorded']} recorded"
        rows.append((label, value, "", ""))
    if sim := results.get("simulation"):
        b = sim["batch"]
        speed = f"{b['seconds']} s, {b['days_per_second']} virtual days/s"
        rows.append((f"simulator, {b['runs']} scenarios", speed, "", ""))
        if w := sim.get("enterprise_worst_case"):
            rows.append(("simulator, enterprise worst case", f"{w['seconds']} s", "", ""))
    measured = hardware(results.get("throughput") or next(iter(results.values())))
    return table(("", "engine", "floor (Temporal alone)", "engine / floor"), rows) + f"\n\nMeasured on {measured}"
