"""Every automation rule of DOMAIN.md, for each segment, pinned to the timeline it must produce.

The scenarios and their expected timelines live in tests/scenarios/<segment>/*.yaml, written
by hand from DOMAIN.md and the playbooks. Each runs through the real workflow and playbook on
the time-skipping server (the simulator); the comparison below reads the expectation straight
from the YAML, so it does not lean on the simulator's own checker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from adapters.email.render import available
from onboarding import playbook
from simulator import scenario
from simulator.run import Simulator

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
FILES = sorted(SCENARIOS.rglob("*.yaml"))


@pytest_asyncio.fixture(scope="module")
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator() as sim:
        yield sim


def line(day: float, kind: str, name: str, to: str | None = None) -> tuple[float, str, str, str]:
    return (round(float(day), 2), kind, name, to or "-")


def test_every_segment_has_its_rules_pinned() -> None:
    by_segment = {
        seg: {p.stem for p in (SCENARIOS / seg).glob("*.yaml")} for seg in ("smb", "mid_market", "enterprise")
    }
    for names in by_segment.values():
        assert {"silent_customer"} <= names  # the nudges, the 24/48 h welcome, day 7 without login
        assert any("pause" in n for n in names)
        assert any("module" in n or "refused" in n for n in names)
    assert {"survey_goal_reached", "survey_goal_not_reached", "survey_unanswered"} <= by_segment["smb"]
    assert {"survey_goal_reached", "survey_then_csm_validates"} <= by_segment["mid_market"]
    assert "full_journey" in by_segment["enterprise"]
    # the playbook language (issue: playbooks that say what CS teams do), each rule and complaint pinned
    assert {
        "setup_or_reengagement",
        "active_customer_not_nudged",
        "active_without_key_action",
        "low_csat_no_testimonial",
        "skip_and_come_back",
        "stuck_on_a_step",
        "measured_success",
        "cancelled_lost",
    } <= by_segment["smb"]
    assert {
        "check_ins_from_kickoff",
        "reassigned",
        "kickoff_scheduled",
        "customer_asks_to_pause",
        "overdue",
    } <= by_segment["mid_market"]
    assert {"live_week_early_key_action", "claimed_in_time", "silent_through_overdue"} <= by_segment["enterprise"]


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SCENARIOS)) for p in FILES])
async def test_scenario_produces_the_expected_timeline(simulator: Simulator, path: Path) -> None:
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    expect = raw["expect"]
    plan = playbook.for_segment(raw["segment"], available())

    result = await simulator.simulate(scenario.load(path), plan)

    timeline = result.to_json()["timeline"]
    wanted = sorted(line(*entry) for entry in expect["timeline"])
    kinds = set(expect.get("kinds") or {entry[1] for entry in expect["timeline"]})
    got = sorted(line(e["day"], e["kind"], e["name"], e["to"]) for e in timeline if e["kind"] in kinds)
    assert got == wanted, "\n".join(
        [f"missing:    {x}" for x in wanted if x not in got] + [f"unexpected: {x}" for x in got if x not in wanted]
    )
    if "outcome" in expect:
        assert result.outcome == expect["outcome"]
    if "days_to_first_value" in expect:
        assert result.days_to_first_value == expect["days_to_first_value"]
    assert [e["day"] for e in timeline] == sorted(e["day"] for e in timeline)


async def test_a_refusal_says_why_in_the_timeline(simulator: Simulator) -> None:
    path = SCENARIOS / "enterprise" / "refused_then_cancelled.yaml"
    result = await simulator.simulate(scenario.load(path), playbook.for_segment("enterprise", available()))
    refused = {e.name: e.detail for e in result.timeline if e.kind == "rejected"}
    assert refused["module_completed"] == (
        "unknown module 'quick_start'; this playbook's modules: admin_training, end_user_training, rollout_training"
    )
    assert "csm-nobody" in refused["reassign"] and "no active CSM" in refused["reassign"]
