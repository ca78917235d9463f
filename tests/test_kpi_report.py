"""`python admin.py report`: the same figures as a table, as JSON, and as an HTML page with charts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner, Result

from adapters.db import engine
from admin import app
from reports import kpi
from tests.test_kpi import db_url, seed  # noqa: F401 (db_url is a fixture)

SVG = "{http://www.w3.org/2000/svg}"


def report(*args: str) -> Result:
    return CliRunner().invoke(app, ["report", *args])


@pytest.fixture
def seeded(db_url: str) -> str:  # noqa: F811
    seed(datetime.now(UTC))
    return db_url


def test_json_carries_every_figure(seeded: str) -> None:
    result = report("--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    with Session(engine(seeded)) as db:
        expected = kpi.report(db, datetime.fromisoformat(data["as_of"])).model_dump(mode="json")
    assert data == expected
    assert data["totals"]["completion"] == {"count": 4, "of": 5, "percent": 80.0}
    assert data["totals"]["within_length"] == 3
    assert [a["company"] for a in data["at_risk"]] == ["M3", "Smith & Sons <Dental>"]


def test_the_table_reads_as_a_summary(seeded: str) -> None:
    result = report("--segment", "smb")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "started 5  active 1  paused 1  completed 2  cancelled 1"
    assert lines[2] == (
        "completion 66.7% (2/3) of the onboardings past their standard length (SMB 30 days, mid-market 60 days,"
        " enterprise 120 days); 2 onboardings still within it, not counted"
    )
    assert "SEGMENT  STARTED  DONE   COMPLETION  WITHIN LENGTH  TTFV MEDIAN  TTFV P90  ACTIVATION" in lines
    assert "SMB            5     2  66.7% (2/3)              2       25.5 d    31.0 d  33.3% (1/3)" in lines
    assert "  SMB/early_training: 10.0 d over 3 onboardings" in lines
    assert "  SMB/adoption_support: 21.0 d over 1 onboarding" in lines
    assert "  1 x No activity for 10 days" in lines
    assert "Survey: 1 answer, goal reached 100% (1/1), CSAT 5.0 (satisfied 100% (1/1)), CES 2.0" in lines
    assert "  s4 [SMB] owner csm-s, red: No activity for 10 days" in lines
    assert "  csm-s  csm           2/2" in lines
    assert "  5 new SMB customers a quarter, 30-day onboardings, 2 active each -> 1 CSM (you have 1)" in lines


def test_an_onboarding_minutes_old_does_not_make_the_completion_rate_zero(db_url: str) -> None:  # noqa: F811
    """The issue's case: three minutes after signing, a mid-market onboarding is in flight, not a failure."""
    from tests.test_kpi import start

    start("m-new", "mid_market", 3 / 1440, datetime.now(UTC)).log(0, "phase", "kickoff_planning")
    result = report()
    assert result.exit_code == 0, result.output
    assert "completion n/a of the onboardings past their standard length" in result.output
    assert "1 onboarding still within it, not counted" in result.output
    assert "0%" not in result.output.split("Escalation")[0]


def test_the_html_page_is_self_contained_and_draws_the_three_charts(seeded: str) -> None:
    result = report("--format", "html")
    assert result.exit_code == 0, result.output
    page = result.output
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "src=" not in page and "href=" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")

    root = ET.fromstring(page)  # well-formed: every tag closed, every name escaped
    charts = {svg.findtext(f"{SVG}title"): svg for svg in root.iter(f"{SVG}svg")}
    assert list(charts) == [
        "Completion by segment",
        "Time to first value distribution",
        "Load by person against capacity",
    ]

    def bars(chart: str) -> dict[str, tuple[float, str]]:
        rects = charts[chart].iter(f"{SVG}rect")
        return {r.findtext(f"{SVG}title", ""): (float(r.get("width", "0")), r.get("fill", "")) for r in rects}

    completion = bars("Completion by segment")
    assert {k for k, (w, _) in completion.items() if w > 0} == {
        "SMB: 2 completed",
        "SMB: 2 running",
        "SMB: 1 cancelled",
        "Mid-market: 2 completed",
        "Mid-market: 1 running",
    }
    ttfv = bars("Time to first value distribution")
    # smb first value on days 20 and 31, mid-market on days 45 and 50: weekly bins 3, 5, 7, 8
    assert {k for k, (w, _) in ttfv.items() if k.endswith(": 1")} == {
        "SMB, days 14-21: 1",
        "SMB, days 28-35: 1",
        "Mid-market, days 42-49: 1",
        "Mid-market, days 49-56: 1",
    }
    assert len([k for k in ttfv if k.endswith(": 0")]) == 2 * 8 - 4
    load = bars("Load by person against capacity")
    assert load["csm-s: 2 of 2"][1] == "#edc948"  # full: amber
    assert load["csm-m: 1 of 5"][1] == "#59a14f"
    assert "mgr" not in "".join(load)  # managers carry no onboardings of their own

    text = "".join(root.itertext())
    assert "Smith & Sons <Dental>" in text  # the at-risk table, escaped in the source
    assert "80% (4/5)" in text
    assert "The 3 onboardings still within it are shown apart and not counted." in " ".join(text.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-13-01"], "'2026-13-01' does not match the formats '%Y-%m-%d'"),
        (["--segment", "retail"], "'retail' is not one of 'smb', 'mid_market', 'enterprise'"),
        (["--format", "pdf"], "'pdf' is not one of 'table', 'json', 'html'"),
        (["--since", f"{datetime.now(UTC) + timedelta(days=2):%Y-%m-%d}"], "--since: expected a date before today"),
    ],
)
def test_bad_options_are_named(args: list[str], message: str, tmp_path: Path) -> None:
    result = report(*args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())


def test_a_database_without_the_schema_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = report()
    assert result.exit_code == 1
    assert "run `python admin.py db upgrade` first" in result.output
