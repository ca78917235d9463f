"""Playbook A/B tests: a deterministic share of new onboardings per variant, the variant on the
timeline at signing, and the KPI report comparing the groups with a plain word on noise."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import admin
from onboarding import playbook
from onboarding.effects import Assignment, TimelineEntry
from onboarding.journey import Journey, Progress, TeamAssigned
from onboarding.variants import bucket, for_account, pick, snapshots
from reports import report_page
from reports.variants import lines
from tests.test_journey import SIGNED, TEAM, journey
from tests.test_kpi import NOW, db_url, report, start

__all__ = ["db_url"]

SMB = playbook.PLAYBOOK_DIR / "smb.yaml"


def with_variant(folder: Path, share: float = 0.3, segment: str = "smb") -> Path:
    """smb.yaml with a variant `short` (its day-3 re-engagement a day sooner) for `share` of accounts."""
    variant = (playbook.PLAYBOOK_DIR / f"{segment}.yaml").read_text()
    (folder / "short.yaml").write_text(
        variant.replace("  - id: no_login_3d\n    after: 3d", "  - id: no_login_3d\n    after: 2d")
    )
    base = folder / "smb.yaml"
    base.write_text(SMB.read_text() + f"\nvariants:\n  - {{name: short, share: {share}, playbook: short.yaml}}\n")
    return base


def test_the_share_is_kept_and_an_account_always_lands_in_the_same_group(tmp_path: Path) -> None:
    base = playbook.load(with_variant(tmp_path))
    found = snapshots(base, tmp_path)
    groups = [pick(base, f"acct-{i}", found).variant for i in range(2000)]
    assert 0.26 < groups.count("short") / 2000 < 0.34
    assert all(pick(base, f"acct-{i}", found).variant == g for i, g in enumerate(groups[:50]))
    assert bucket("acct-7") == bucket("acct-7")
    assert for_account(playbook.for_segment("smb"), "acct-1").variant is None  # no test: the playbook itself


def test_a_variant_must_be_of_the_same_segment_and_the_shares_leave_a_control_group(tmp_path: Path) -> None:
    base = playbook.load(with_variant(tmp_path, segment="mid_market"))
    with pytest.raises(playbook.PlaybookError, match="variant 'short' is a mid_market playbook; this test is in smb"):
        snapshots(base, tmp_path)
    result = CliRunner().invoke(admin.app, ["playbook", "validate", str(tmp_path / "smb.yaml")])
    assert result.exit_code == 2 and "is a mid_market playbook" in result.output
    bad = tmp_path / "all.yaml"
    bad.write_text(
        SMB.read_text() + "\nvariants:\n  - {name: short, share: 0.6, playbook: short.yaml}\n"
        "  - {name: long, share: 0.4, playbook: short.yaml}\n"
    )
    with pytest.raises(playbook.PlaybookError, match="the shares add up to 1 or more"):
        playbook.load(bad)


def test_the_group_goes_on_the_timeline_at_signing(tmp_path: Path) -> None:
    base = playbook.load(with_variant(tmp_path))
    variant = snapshots(base, tmp_path)["short"]
    contract = journey().contract
    for pb, group in ((variant, "short"), (base, "control")):
        j = Journey(contract, pb, Progress(ref="r", phase_started_at=SIGNED, last_activity_at=SIGNED))
        rows = [
            e for e in j.apply(TeamAssigned(assignment=Assignment(team=TEAM)), SIGNED) if isinstance(e, TimelineEntry)
        ]
        marked = [r for r in rows if r.name == "playbook_variant"]
        assert len(marked) == 1 and marked[0].data == {"variant": group, "version": pb.version}
    plain = Journey(
        contract, playbook.for_segment("smb"), Progress(ref="r", phase_started_at=SIGNED, last_activity_at=SIGNED)
    )
    effects = plain.apply(TeamAssigned(assignment=Assignment(team=TEAM)), SIGNED)
    assert not [e for e in effects if isinstance(e, TimelineEntry) and e.name == "playbook_variant"]


def seed_group(variant: str, n: int, completed: int, escalated: int, prefix: str) -> None:
    for i in range(n):
        o = start(f"{prefix}{i}", "smb", 45, NOW).log(0, "event", "playbook_variant", variant, variant=variant)
        o.log(0, "phase", "self_serve_setup")
        if i < completed:
            o.log(5 + i % 3, "event", "key_action", "booking_page_published", action="booking_page_published")
            o.log(20, "completed", "onboarding_complete")
        if i < escalated:
            o.escalate(8, "No activity for 10 days")


def test_the_report_compares_the_groups_and_says_when_it_is_beyond_noise(db_url: str) -> None:
    seed_group("control", 12, completed=3, escalated=6, prefix="c")
    seed_group("short", 12, completed=11, escalated=5, prefix="v")
    [test] = report(db_url).variants
    assert test.segment == "smb" and [g.variant for g in test.groups] == ["control", "short"]
    control, short = test.groups
    assert (control.onboardings, control.completed, control.escalated) == (12, 3, 6)
    assert (short.onboardings, short.completed, short.escalated) == (12, 11, 5)
    assert test.statement == "short completes more often (92% vs 25%) than control, beyond noise at 95% (n=12 vs 12)."
    text = "\n".join(lines([test]))
    assert "control: 12 onboardings, completed 3 (25%), escalated 6 (50%)" in text
    page = report_page.render(report(db_url))
    assert "<h2>Playbook test: SMB</h2>" in page and "beyond noise at 95% (n=12 vs 12)" in page


def test_a_small_difference_is_called_noise(db_url: str) -> None:
    seed_group("control", 6, completed=3, escalated=2, prefix="c")
    seed_group("short", 6, completed=4, escalated=2, prefix="v")
    [test] = report(db_url).variants
    assert test.statement == (
        "short vs control: the differences are within noise (n=6 vs 6); no conclusion yet, keep the test running."
    )
