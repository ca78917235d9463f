"""Playbook versions and a rollout on the pure journey: mapping by id, refusals, the forecast's diff."""

from __future__ import annotations

import pytest

from onboarding import playbook
from onboarding.effects import TimelineEntry
from onboarding.forecast import compare, forecast, horizon
from onboarding.journey import OnboardingInput, Refused
from onboarding.journey.migrate import migrate
from onboarding.journey.view import status
from onboarding.messages import ApplyPlaybook, MarkStuck, ProductEvent
from onboarding.playbook import Playbook
from tests.rollout_playbooks import load, v2_text, v3_text
from tests.test_journey import DAY, SIGNED, journey


def rollout(pb: Playbook, by: str = "ops-ana") -> ApplyPlaybook:
    return ApplyPlaybook(playbook=pb.model_dump(mode="json"), version=pb.version, by=by)


def test_a_version_is_the_content_hash_with_its_label_and_survives_a_snapshot() -> None:
    smb, v2 = playbook.for_segment("smb"), load(v2_text())
    assert len(smb.version) == 12 and v2.version.startswith("smb-v2@")
    assert Playbook.model_validate_json(v2.model_dump_json()).version == v2.version
    relabelled = load(v2_text().replace("label: smb-v2", "label: other"))
    assert relabelled.content_hash == v2.content_hash and relabelled.version != v2.version
    assert status(journey(), SIGNED).playbook == smb.version


def test_a_mapping_must_name_ids_the_new_playbook_has() -> None:
    with pytest.raises(playbook.PlaybookError, match=r"mapping\.steps\.quick_start: this playbook has no step 'gide'"):
        load(v2_text().replace("{quick_start: guide}", "{quick_start: gide}"))


def in_training() -> object:
    """An SMB customer in early training (logged in on day 1), stuck on the quick-start step."""
    j = journey()
    j.apply(ProductEvent(name="first_login"), SIGNED + DAY)
    j.tick(SIGNED + 7 * DAY)
    assert j.phase.id == "early_training"
    j.apply(MarkStuck(step="quick_start", reason="no time this week"), SIGNED + 7 * DAY)
    return j


def test_the_state_is_mapped_by_id_through_the_mapping() -> None:
    j = in_training()
    v2 = load(v2_text())
    mapped = migrate(j.p, j.playbook, v2)  # type: ignore[attr-defined]
    assert v2.phases[mapped.phase_index].id == "training"
    assert mapped.stuck == {"guide": "no time this week"}
    assert "phase:training" in mapped.facts and "phase:early_training" not in mapped.facts


def test_what_cannot_be_mapped_is_refused_with_the_reason() -> None:
    j = in_training()
    with pytest.raises(ValueError, match="the current phase 'early_training' is not in the new playbook"):
        migrate(j.p, j.playbook, load(v3_text()))  # type: ignore[attr-defined]
    with pytest.raises(Refused, match=r"mapping\.phases\.early_training"):
        j.check(rollout(load(v3_text())), SIGNED + 8 * DAY)  # type: ignore[attr-defined]
    mid_market = playbook.for_segment("mid_market")
    with pytest.raises(Refused, match="the new playbook is for mid_market"):
        j.check(rollout(mid_market), SIGNED + 8 * DAY)  # type: ignore[attr-defined]


def test_a_rollout_switches_the_playbook_on_the_timeline_and_again_is_a_no_op() -> None:
    j = in_training()
    v2, before = load(v2_text()), j.playbook.version  # type: ignore[attr-defined]
    effects = j.apply(rollout(v2), SIGNED + 8 * DAY)  # type: ignore[attr-defined]
    rows = [e for e in effects if isinstance(e, TimelineEntry) and e.name == "apply_playbook"]
    assert len(rows) == 1 and rows[0].actor == "ops-ana" and rows[0].data == {"from": before, "to": v2.version}
    assert j.playbook.version == v2.version and j.phase.id == "training"  # type: ignore[attr-defined]
    assert j.apply(rollout(v2), SIGNED + 8 * DAY) == []  # type: ignore[attr-defined]


def test_the_forecast_shows_what_the_new_playbook_changes_and_matches_after_the_switch() -> None:
    j = journey()  # signed, nobody logged in yet: the re-engagement sequence is ahead
    now = SIGNED + DAY * 1.5
    j.tick(now)
    state = OnboardingInput(contract=j.contract, playbook=j.playbook, progress=j.p)
    v2 = load(v2_text())
    until = horizon(state, v2, now)
    old, new = forecast(state, now, until), forecast(state, now, until, v2)
    changes = compare(old, new)
    removed = [c for c in changes if c.sign == "-" and c.what == "email reengagement to champion"]
    assert removed and removed[0].before == SIGNED + 3 * DAY  # day 3's re-engagement is gone
    j.apply(rollout(v2), now)
    after = forecast(OnboardingInput(contract=j.contract, playbook=j.playbook, progress=j.p), now, until)
    assert after == new
