"""`python -m bench.report [--mode quick] [--summary | --before DIR]`: results as the Markdown of docs/benchmarks.md.

Figures are copied from the JSON, never retyped: paste the output into the document after a run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.common import RESULTS
from bench.compare import before_after
from bench.markdown import hardware, table
from bench.report_latency import latency, portal
from bench.summary import summary


def machine(result: dict[str, Any]) -> str:
    load = ", ".join(map(str, result["machine"]["load_average"]))
    return f"{hardware(result)} Load average at the end: {load}; took {result['wall_seconds']:.0f} s."


def throughput(r: dict[str, Any]) -> str:
    e, f, x = r["engine"], r["floor"], r["ratios"]
    rows = [
        ("onboardings (runs) per second", e["per_second"], f["per_second"], x["runs_per_second"]),
        (
            "history events per second",
            e["history_events_per_second"],
            f["history_events_per_second"],
            x["events_per_second"],
        ),
        (
            "history events per run",
            e["history_events_per_run"],
            f["history_events_per_run"],
            x["history_events_per_run"],
        ),
        ("worker CPU ms per run", e["worker_cpu_ms_per_run"], f["worker_cpu_ms_per_run"], x["worker_cpu_per_run"]),
        ("server CPU ms per run", e["server_cpu_ms_per_run"], f["server_cpu_ms_per_run"], x["server_cpu_per_run"]),
        ("driver CPU ms per run", e["driver_cpu_ms_per_run"], f["driver_cpu_ms_per_run"], ""),
        ("worker peak RSS, MiB", e["worker_peak_rss_mb"], f["worker_peak_rss_mb"], ""),
        *(
            [("workflow tasks replayed first (cache misses) per run", e[miss], f[miss], "")]
            if (miss := "workflow_cache_misses_per_run") in e
            else []
        ),
        (
            "a run lasted (median / max), s",
            f"{e['run_seconds_median']} / {e['run_seconds_max']}",
            f"{f['run_seconds_median']} / {f['run_seconds_max']}",
            "",
        ),
    ]
    s = r["settings"]
    intro = (
        f"{s['onboardings']} runs each, at most {s['in_flight_at_most']} in flight; {s['journey']}; "
        f"{e['emails_per_run']} emails per onboarding; database {s['database']}, bytecode {s['bytecode']}"
        + (f"; sticky queue {sticky:g} s." if (sticky := s["worker"].get("sticky_queue_seconds")) else ".")
    )
    return intro + "\n\n" + table(("", "engine", "floor", "engine / floor"), rows)


def idle(r: dict[str, Any]) -> str:
    s = r["settings"]
    rows = [
        (
            c.get("onboardings", s["onboardings"]),
            c["max_cached_workflows"],
            c["starts_per_second"],
            c["idle_rss_mb"],
            f"{c['act_seconds_median']} / {c['act_seconds']}",
            c["acted_per_second"],
            c["act_worker_cpu_ms_each"],
            c["peak_rss_mb"],
        )
        for c in r["caches"]
    ]
    intro = f"Day 1 comes once every onboarding has started and settled; bytecode {s['bytecode']}."
    header = (
        "onboardings",
        "cache",
        "starts/s",
        "idle RSS MiB",
        "all acted (median / last), s",
        "acted/s",
        "worker CPU ms each",
        "peak RSS MiB",
    )
    return intro + "\n\n" + table(header, rows)


def history(r: dict[str, Any]) -> str:
    rows = [
        (
            segment.replace("_", "-"),
            journey.replace("_", " "),
            j["days_to_first_value"],
            j["emails"],
            j["escalations"],
            j["events"],
            j.get("runs", 1),
            j.get("largest_run_events", j["events"]),
            f"{j['bytes'] / 1024:.1f}",
            f"{j['largest_payload_bytes'] / 1024:.1f}",
        )
        for segment, journeys in r["segments"].items()
        for journey, j in journeys.items()
    ]
    largest = r["largest_payload"]
    header = ("segment", "journey", "days", "emails", "escalations", "events", "runs", "largest run", "KiB")
    return (
        table((*header, "largest payload KiB"), rows)
        + f"\n\nLargest payload: {largest['largest_payload_bytes'] / 1024:.1f} KiB, in "
        f"{largest['largest_payload_in']} (Temporal refuses 2 MiB; warns at 10,240 events or 10 MiB of history)."
    )


def simulation(r: dict[str, Any]) -> str:
    rows = [
        (segment.replace("_", "-"), name.replace("_", " "), s["virtual_days"], s["seconds"], s["days_per_second"])
        for segment, journeys in r["segments"].items()
        for name, s in journeys.items()
    ]
    note = ""
    if w := r.get("enterprise_worst_case"):
        runs, days = ", ".join(f"{s:g}" for s in w["runs"]), w["virtual_days"]
        speed = round(days / w["seconds"], 1)
        rows.append(("enterprise", f"worst case, median of {runs} s", days, w["seconds"], speed))
        note = _worst_case(w)
    b = r["batch"]
    lanes = f" on {b['lanes']} lane(s)" if "lanes" in b else ""
    rows.append(
        ("batch", f"{b['runs']} scenarios{lanes}, {b['files']}", b["virtual_days"], b["seconds"], b["days_per_second"])
    )
    return table(("segment", "journey", "virtual days", "wall s", "days per second"), rows) + note


def _worst_case(w: dict[str, Any]) -> str:
    """Where the worst case's time goes, and Temporal's own time for its work, for results that carry them."""
    note = ""
    if spent := w.get("cpu_seconds_per_run"):
        split = ", ".join(f"{part.replace('_', ' ')} {seconds:g}" for part, seconds in spent.items())
        note += f"\n\nEnterprise worst case, CPU seconds per run: {split}."
    if floor := w.get("floor"):
        shape = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in floor["shape"].items())
        note += (
            f" Temporal alone doing its work on the same server ({shape}; bench/simulation_floor.py): "
            f"{floor['seconds']} s; the engine takes {w['engine_over_floor']} times as long."
        )
    return note


def replay(r: dict[str, Any]) -> str:
    rows = [
        (
            name.replace("_", " "),
            h["events"],
            h["compiled"]["cpu_ms"],
            h["no_bytecode"]["cpu_ms"],
            h["unsandboxed"]["cpu_ms"],
            h["compiled"]["cpu_us_per_event"],
        )
        for name, h in r["histories"].items()
    ]
    header = ("history", "events", "CPU ms (bytecode)", "no bytecode", "unsandboxed", "µs per event")
    return table(header, rows) + (
        f"\n\nCompiling workflows/onboarding.py costs {r['compile_workflow_module_ms']} ms of CPU: what every new "
        "workflow instance pays when there is no bytecode."
    )


def activity_cost(r: dict[str, Any]) -> str:
    rows = [
        (name, a["calls"], a["sql_statements_each"], a["commits_each"], a["cpu_ms_each"], a["cpu_ms_each_median"])
        for name, a in r["activities"].items()
    ]
    return table(("activity", "calls", "SQL statements each", "commits each", "CPU ms each (best)", "median"), rows)


def chatty(r: dict[str, Any]) -> str:
    rows = [
        (
            r["events_sent"],
            r["events_recorded"],
            r["runs"],
            r["largest_run_events"],
            r["largest_run_kib"],
            r["events_per_second_absorbed"],
            r["status"].lower(),
        )
    ]
    header = ("events sent", "recorded", "runs", "largest run: events", "KiB", "events/s absorbed", "onboarding")
    return table(header, rows)


def memory(r: dict[str, Any]) -> str:
    s, variants = r["settings"], r["variants"]
    columns = variants | r["differences"]
    header = ("KiB per idle onboarding", *variants, *(f"{k} ({d['of']})" for k, d in r["differences"].items()))
    groups = next(iter(variants.values()))["groups_kib"]
    labels = {"rss_kib": "RSS growth", "traced_kib": "traced (tracemalloc)", "tracemalloc_kib": "tracemalloc's own"}
    rows = [(labels[k], *(c[k] for c in columns.values())) for k in ("rss_kib", "traced_kib")]
    rows += [(f"traced: {g}", *(c["groups_kib"][g] for c in columns.values())) for g in groups]
    rows += [(labels["tracemalloc_kib"], *(c["tracemalloc_kib"] for c in columns.values()))]
    rows += [("untraced (RSS - traced - tracemalloc's)", *(c["untraced_kib"] for c in columns.values()))]
    tops = [list(v["top_sites_kib"].items()) for v in variants.values()]
    depth = max(map(len, tops))
    lines = [(i + 1, *(f"`{t[i][0]}`: {t[i][1]}" if i < len(t) else "" for t in tops)) for i in range(depth)]
    intro = (
        f"{s['onboardings']} SMB onboardings resting on their timers, all cached, after {s['warmup']} to warm the "
        f"worker up; each variant a fresh worker process; tracemalloc with {s['frames']} frames."
    )
    largest = table(("", *variants), lines)
    return f"{intro}\n\n{table(header, rows)}\n\nThe largest lines of traced growth, KiB per onboarding:\n\n{largest}"


SECTIONS = {
    "throughput": throughput,
    "idle": idle,
    "latency": latency,
    "history": history,
    "simulation": simulation,
    "replay": replay,
    "activity_cost": activity_cost,
    "chatty": chatty,
    "portal": portal,
    "memory": memory,
}


def load(folder: Path, mode: str) -> dict[str, dict[str, Any]]:
    """Every result of one mode in the folder, by benchmark name."""
    suffix = "" if mode == "full" else f".{mode}"
    found = {name: folder / f"{name}{suffix}.json" for name in SECTIONS}
    return {name: json.loads(path.read_text()) for name, path in found.items() if path.exists()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=("full", "quick", "smoke"), default="full", help="which results to read")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--summary", action="store_true", help="only the README's one table")
    parser.add_argument("--before", type=Path, help="compare with the same mode's results in this folder")
    args = parser.parse_args(argv)
    results = load(args.results, args.mode)
    if not results:
        parser.error(f"no {args.mode} results in {args.results}: run the benchmarks first")
    if args.before:
        print(before_after(load(args.before, args.mode), results))
        return 0
    if args.summary:
        print(summary(results))
        return 0
    for name, result in results.items():
        print(f"### {name}\n\n{machine(result)}\n\n{SECTIONS[name](result)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
