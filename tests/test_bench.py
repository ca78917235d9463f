"""The benchmarks still run and write sane JSON: every one of them, at its tiny `--smoke` sizes.

This checks that they run and what they count, never how fast anything is: speed depends
on the machine and its load. They all run side by side (each on a private server) to keep
the suite fast; their figures mean nothing at these sizes and under this contention.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.__main__ import BENCHMARKS
from bench.journey import EMAILS, STEPS
from bench.memory import DIFFERENCES, GROUPS, VARIANTS
from bench.simulation import WORST
from bench.summary import summary
from simulator.scenario import load as load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("p50_ms", "p95_ms", "p99_ms")
ROUNDING = 0.05  # bench.memory rounds every figure to 0.1 KiB


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    runs = {
        name: subprocess.Popen(
            [sys.executable, "-m", f"bench.{name}", "--smoke", "--out", str(out)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in BENCHMARKS
    }
    failed = {}
    for name, run in runs.items():
        output, _ = run.communicate(timeout=300)
        if run.returncode != 0:
            failed[name] = output[-3000:]
    assert not failed, "\n\n".join(f"{name} failed:\n{output}" for name, output in failed.items())
    return {name: json.loads((out / f"{name}.smoke.json").read_text()) for name in BENCHMARKS}


def test_every_result_says_what_ran_and_where(results: dict[str, dict[str, Any]]) -> None:
    for name, result in results.items():
        assert result["benchmark"] == name
        assert result["mode"] == "smoke"
        assert result["machine"]["cores"] >= 1
        assert "temporal version" in result["machine"]["temporal_cli"]
        assert len(result["machine"]["load_average"]) == 3


def test_throughput_drives_every_journey_and_the_floor_matches_its_shape(results: dict[str, dict[str, Any]]) -> None:
    t = results["throughput"]
    assert t["engine"]["runs"] == t["floor"]["runs"] == t["settings"]["onboardings"] == 5
    assert t["engine"]["emails_per_run"] == EMAILS, "every onboarding sent the journey's emails, no more"
    shape, mix = t["floor"]["shape"], t["floor"]["event_mix_per_run"]
    signals = sum(1 for s in STEPS if not s.is_update)
    assert t["engine"]["event_mix_per_run"]["WORKFLOW_EXECUTION_SIGNALED"] == mix["WORKFLOW_EXECUTION_SIGNALED"]
    assert mix["WORKFLOW_EXECUTION_SIGNALED"] == signals
    assert mix["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"] == len(STEPS) - signals
    assert mix["ACTIVITY_TASK_SCHEDULED"] == shape["activities"]
    assert mix.get("MARKER_RECORDED", 0) == shape["local_activities"]
    for side in ("engine", "floor"):
        assert t[side]["history_events_per_run"] > 0
        assert t[side]["worker_cpu_seconds"] > 0
        assert t[side]["workflow_cache_hits_per_run"] > 0, "the worker's cache counters were read"
    assert all(value > 0 for value in t["ratios"].values())


def test_latency_is_sampled_idle_and_at_each_share_of_the_measured_capacity(
    results: dict[str, dict[str, Any]],
) -> None:
    lat = results["latency"]
    capacity = lat["capacity"]["per_second"]
    assert capacity > 0 and lat["capacity"]["onboardings"] == 5
    assert [row["load"] for row in lat["levels"]] == [0.25, 0.5, 0.75]
    assert lat["idle"]["event_to_email"]["count"] == 2 * lat["settings"]["idle_onboardings"]
    for row in [lat["idle"], *lat["levels"]]:
        for measure in ("event_to_email", "csm_action", "plan_page"):
            assert row[measure]["count"] > 0, f"{measure}: sampled at every level"
            p50, p95, p99 = (row[measure][f] for f in FIGURES)
            assert 0 < p50 <= p95 <= p99
        legs = row["event_to_email_legs"]
        assert all(leg["count"] == row["event_to_email"]["count"] for leg in legs["legs"].values()), (
            "every sample split"
        )
        assert sum(legs["share_of_mean"].values()) == pytest.approx(1, abs=0.01)
        timers = row["worker_timers"]
        assert timers["workflow task in the worker"]["count"] > 0, "the worker's SDK timers were read"
        assert timers["server call RespondWorkflowTaskCompleted"]["mean_ms"] > 0
    for row in lat["levels"]:
        assert row["target_per_second"] == round(row["load"] * capacity, 3)
        sent = row["event_to_email"]["count"] + row["emails_unsent_event_before_team"]
        assert sent == 2 * row["sampled_onboardings"], "two emails a journey"
        assert 0 < row["sampled_onboardings"] <= row["onboardings"]
    half = next(row for row in lat["levels"] if row["load"] == 0.5)
    assert lat["target"]["measured_ms"] == half["event_to_email"]["p99_ms"]
    assert lat["target"]["met"] == (lat["target"]["measured_ms"] < lat["target"]["event_to_email_p99_under_ms"])
    curve = report.SECTIONS["latency"](lat)
    for load in ("idle", "25%", "50%", "75%"):
        assert f"\n| {load} |" in curve, f"the report's latency table has a row for {load}"


def test_history_counts_events_bytes_and_the_largest_payload(results: dict[str, dict[str, Any]]) -> None:
    happy = results["history"]["segments"]["smb"]["happy_path"]
    assert happy["days_to_first_value"] is not None, "the journey completed"
    assert happy["bytes"] > happy["largest_payload_bytes"] > 0
    assert happy["events"] > 0 and happy["emails"] > 0
    assert results["history"]["largest_payload"]["largest_payload_in"]


def test_simulation_reports_virtual_days_a_second(results: dict[str, dict[str, Any]]) -> None:
    sim = results["simulation"]
    assert sim["segments"]["smb"]["happy_path"]["virtual_days"] > 0
    scenarios = sorted((ROOT / "bench" / "scenarios").glob("smb_happy*.yaml"))
    assert sim["batch"]["runs"] == len(scenarios) and sim["batch"]["lanes"] == 1
    assert sim["batch"]["days_per_second"] > 0
    worst = sim["enterprise_worst_case"]
    assert worst["virtual_days"] == 127 and len(worst["runs"]) == 1 and worst["seconds"] == worst["runs"][0] > 0
    spent = worst["cpu_seconds_per_run"]
    parts = ("workflow_code", "activities", "event_loop", "sdk_core", "time_skipping_server")
    assert all(spent[part] > 0 for part in parts), "every part of the simulator did some work"
    floor = worst["floor"]
    assert floor["shape"]["messages"] == len(load_scenario(WORST).steps), "the floor gets every action sent"
    assert all(n > 0 for n in floor["shape"].values()) and len(floor["runs"]) == 1
    assert worst["engine_over_floor"] == round(worst["seconds"] / floor["seconds"], 2)


def test_idle_onboardings_all_act_when_their_timers_fire(results: dict[str, dict[str, Any]]) -> None:
    (run,) = results["idle"]["caches"]
    assert run["max_cached_workflows"] == 5
    assert run["idle_rss_mb"] > 0 and run["peak_rss_mb"] >= run["idle_rss_mb"]
    assert run["act_seconds"] >= run["act_seconds_median"] >= 0


def test_activity_cost_counts_each_activitys_database_work(results: dict[str, dict[str, Any]]) -> None:
    costs = results["activity_cost"]["activities"]
    assert set(costs) == {"assign_team", "record_timeline", "render", "send_email"}
    assert costs["render"]["sql_statements_each"] == 0, "rendering never touches the database"
    for name in ("assign_team", "record_timeline", "send_email"):
        assert costs[name]["sql_statements_each"] > 0 and costs[name]["commits_each"] >= 1
    assert all(c["calls"] > 0 and c["cpu_ms_each"] > 0 for c in costs.values())


def test_replay_times_each_history_three_ways(results: dict[str, dict[str, Any]]) -> None:
    replayed = results["replay"]["histories"]["smb_happy_path"]
    assert replayed["events"] > 0
    for way in ("compiled", "no_bytecode", "unsandboxed"):
        assert replayed[way]["events"] == replayed["events"]
        assert 0 < replayed[way]["cpu_ms"] <= replayed[way]["cpu_ms_median"]


def test_a_first_send_claims_then_proves_in_two_commits(results: dict[str, dict[str, Any]]) -> None:
    send = results["activity_cost"]["activities"]["send_email"]
    assert send["commits_each"] == 2, "the claimed row before the hand-over, then the proof it was sent"
    assert send["sql_statements_each"] == 5, "look up, suppression, claimed insert, sent, timeline row unless there"


def test_a_chatty_product_loses_no_event_and_keeps_runs_small(results: dict[str, dict[str, Any]]) -> None:
    c = results["chatty"]
    assert c["events_recorded"] == c["events_sent"] == c["settings"]["events"]
    assert c["largest_run_events"] < 5_000 and c["status"] == "RUNNING"


def test_the_report_prints_every_figure_from_the_json(results: dict[str, dict[str, Any]]) -> None:
    throughput = results["throughput"]
    headline = summary(results)
    assert (
        f"| {throughput['engine']['per_second']} onboardings/s | {throughput['floor']['per_second']} runs/s |"
        in headline
    )
    assert str(throughput["ratios"]["worker_cpu_per_run"]) in headline
    for name, result in results.items():
        section = report.SECTIONS[name](result)
        assert section.count("\n|") >= 2, f"{name}: a table with at least one row"
    same = report.before_after(results, results)
    assert "| send_email: commits each | 2.0 | 2.0 | 1.0 |" in same


def test_memory_runs_every_variant_in_its_own_worker(results: dict[str, dict[str, Any]]) -> None:
    result = results["memory"]
    assert result["benchmark"] == "memory" and result["mode"] == "smoke"
    assert result["settings"]["onboardings"] == 5
    assert list(result["variants"]) == list(VARIANTS)
    assert result["variants"]["no_cache"]["max_cached_workflows"] == 0
    assert result["variants"]["production"]["max_cached_workflows"] == 1000
    assert result["variants"]["production"]["rss_kib"] > 0


def test_memory_groups_add_up_to_the_traced_growth(results: dict[str, dict[str, Any]]) -> None:
    result = results["memory"]
    for name, run in result["variants"].items():
        assert set(run["groups_kib"]) == set(GROUPS)
        assert sum(run["groups_kib"].values()) == pytest.approx(run["traced_kib"], abs=ROUNDING * (len(GROUPS) + 1))
        untraced = run["rss_kib"] - run["traced_kib"] - run["tracemalloc_kib"]
        assert run["untraced_kib"] == pytest.approx(untraced, abs=ROUNDING * 4), name
        assert 0 < len(run["top_sites_kib"]) <= 10
        assert run["traced_kib"] > 0 and run["tracemalloc_kib"] > 0
    production, unsandboxed = result["variants"]["production"], result["variants"]["unsandboxed"]
    assert production["groups_kib"]["sandbox_module_copies"] > 0, "every run imports its own workflows/onboarding.py"
    assert unsandboxed["groups_kib"]["sandbox_module_copies"] == 0


def test_memory_differences_are_taken_as_documented(results: dict[str, dict[str, Any]]) -> None:
    result = results["memory"]
    variants, differences = result["variants"], result["differences"]
    assert set(differences) == set(DIFFERENCES)
    for name, (a, b) in DIFFERENCES.items():
        d = differences[name]
        assert d["of"] == f"{a} - {b}"
        for key in ("rss_kib", "traced_kib", "tracemalloc_kib", "untraced_kib"):
            assert d[key] == pytest.approx(variants[a][key] - variants[b][key], abs=ROUNDING), (name, key)
        for g in GROUPS:
            expected = variants[a]["groups_kib"][g] - variants[b]["groups_kib"][g]
            assert d["groups_kib"][g] == pytest.approx(expected, abs=ROUNDING), (name, g)
    shown = report.memory(result)
    assert all(name in shown for name in (*VARIANTS, *DIFFERENCES))


def test_the_published_figures_are_the_ones_in_bench_results() -> None:
    """docs/benchmarks.md and the README show what bench/results holds: a re-run not pasted in fails here."""
    published = report.load(report.RESULTS, "full")
    assert set(published) == set(report.SECTIONS), "every benchmark has published full-size results"
    docs = (ROOT / "docs" / "benchmarks.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name, result in published.items():
        assert report.machine(result) in docs, f"{name}: the machine line as bench.report prints it"
        assert report.SECTIONS[name](result) in docs, f"{name}: the table as bench.report prints it"
    assert printed("--summary") in readme, "the README's table, as its own command prints it"
    profiling = "bench/results/profiling"
    changed = printed("--mode", "quick", "--before", f"{profiling}/before", "--results", f"{profiling}/after")
    assert changed.count("\n|") > 10, "the before/after pair holds both throughput and activity costs"
    assert changed in docs
    assert changed in readme
    redesign = printed("--before", "bench/results/v2", "--results", "bench/results/v3")  # the state-machine redesign
    assert redesign.count("\n|") > 20 and redesign in docs and redesign in readme
    closer = printed("--before", "bench/results/v3")  # the performance work, v3's published figures against today's
    assert closer.count("\n|") > 20 and closer in docs and closer in readme
    performance = "bench/results/performance"  # the same machine, back to back, quick size
    pair = printed("--mode", "quick", "--before", f"{performance}/before", "--results", f"{performance}/after")
    history = printed("--before", f"{performance}/before", "--results", f"{performance}/after")
    assert "worker CPU, engine / floor" in pair and "largest run" in history
    assert pair in docs and history in docs
    sticky = printed("--before", "bench/results/sticky/10s", "--results", "bench/results/sticky/60s")
    assert "worker CPU, engine / floor" in sticky and sticky in docs, "the sticky queue's back-to-back pair"
    split = printed("--before", "bench/results/split/one", "--results", "bench/results/split/two")
    assert "at 50% of capacity" in split and split in docs, "one worker against the pair split by role"


def printed(*arguments: str) -> str:
    """What `python -m bench.report ARGUMENTS` prints, as the README and docs/benchmarks.md run it."""
    out = io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out):
        assert report.main(list(arguments)) == 0
    return out.getvalue().strip()


def test_the_portal_page_is_timed_against_the_intakes_health_endpoint(results: dict[str, dict[str, Any]]) -> None:
    p = results["portal"]
    assert p["plan_page"]["count"] == p["healthz"]["count"] == p["settings"]["requests"]
    for side in ("plan_page", "healthz"):
        p50, p95, p99 = (p[side][f] for f in FIGURES)
        assert 0 < p50 <= p95 <= p99
    assert p["page_bytes"] > 5_000 and p["page_over_healthz_p50"] > 0
