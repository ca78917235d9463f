"""bench.memory runs every variant in its own worker process and adds its figures up as it says.

This checks what the benchmark counts, never how much memory anything takes: at the smoke size
(5 onboardings) the figures are noise. Four children, each with its own dev server, one after another.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.memory import DIFFERENCES, GROUPS, VARIANTS

ROOT = Path(__file__).resolve().parent.parent
ROUNDING = 0.05  # every figure is rounded to 0.1 KiB


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("memory")
    command = [sys.executable, "-m", "bench.memory", "--smoke", "--out", str(out)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads((out / "memory.smoke.json").read_text()))


def test_every_variant_ran_in_its_own_worker(result: dict[str, Any]) -> None:
    assert result["benchmark"] == "memory" and result["mode"] == "smoke"
    assert result["settings"]["onboardings"] == 5
    assert list(result["variants"]) == list(VARIANTS)
    assert result["variants"]["no_cache"]["max_cached_workflows"] == 0
    assert result["variants"]["production"]["max_cached_workflows"] == 1000
    assert result["variants"]["production"]["rss_kib"] > 0


def test_the_groups_add_up_to_the_traced_growth(result: dict[str, Any]) -> None:
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


def test_the_differences_are_taken_as_documented(result: dict[str, Any]) -> None:
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
