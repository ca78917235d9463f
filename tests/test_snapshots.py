"""Playbook snapshots as a worker decodes them: one parsed object per content, shared by runs."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from onboarding import playbook
from onboarding.journey import OnboardingInput
from onboarding.journey.state import SNAPSHOTS_KEPT, snapshot_version
from tests.test_journey import journey


def encoded(value: OnboardingInput) -> Payload:
    return pydantic_data_converter.payload_converter.to_payloads([value])[0]


def decoded(payload: Payload) -> OnboardingInput:
    (value,) = pydantic_data_converter.payload_converter.from_payloads([payload], [OnboardingInput])
    assert isinstance(value, OnboardingInput)
    return value


def test_runs_carrying_the_same_snapshot_share_one_parsed_playbook() -> None:
    j = journey("enterprise")
    first = OnboardingInput(contract=j.contract, playbook=j.playbook)
    later = OnboardingInput(contract=j.contract, playbook=j.playbook, progress=j.p)  # a continue-as-new
    a, b = decoded(encoded(first)), decoded(encoded(later))
    assert a.playbook is b.playbook
    assert a.playbook == j.playbook and a.playbook.version == j.playbook.version
    assert b.progress == j.p


def test_a_changed_snapshot_is_parsed_anew_and_old_ones_are_let_go() -> None:
    smb = playbook.for_segment("smb")
    relabelled = smb.model_copy(update={"label": "smb-next"})
    contract = journey().contract
    a = decoded(encoded(OnboardingInput(contract=contract, playbook=smb)))
    b = decoded(encoded(OnboardingInput(contract=contract, playbook=relabelled)))
    assert a.playbook is not b.playbook and b.playbook.label == "smb-next" and a.playbook.label is None
    for n in range(SNAPSHOTS_KEPT):  # as many other versions since: the first is parsed anew
        other = smb.model_copy(update={"label": f"v{n}"})
        decoded(encoded(OnboardingInput(contract=contract, playbook=other)))
    again = decoded(encoded(OnboardingInput(contract=contract, playbook=smb)))
    assert again.playbook is not a.playbook and again.playbook == a.playbook


def test_the_version_shown_is_the_snapshots_own() -> None:
    smb = playbook.for_segment("smb")
    relabelled = smb.model_copy(update={"label": "smb-next"})
    assert snapshot_version(smb) == smb.version and snapshot_version(smb) == snapshot_version(smb)
    assert snapshot_version(relabelled) == f"smb-next@{smb.content_hash}"
