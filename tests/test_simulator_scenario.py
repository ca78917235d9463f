"""Scenario files are checked before anything runs: each problem names the file, line and entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onboarding.messages import Pause, ProductEvent
from simulator.scenario import ScenarioError, parse


def refused(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse(text, "journey.yaml")
    return str(caught.value)


def test_unknown_action_names_the_line_and_the_entry() -> None:
    message = refused("segment: smb\nactions:\n  - {day: 1, action: first_login}\n  - {day: 2, action: frist_login}\n")
    assert message.startswith("journey.yaml:4: actions[1].action: unknown action 'frist_login'; expected one of:")
    assert "first_login" in message and "module_completed" in message


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("monday", "actions[0].day: Input should be a valid number"),
        ("-1", "actions[0].day: Input should be greater than or equal to 0"),
        ("true", "actions[0].day: Input should be a valid number"),
        (".inf", "actions[0].day: Input should be a finite number"),
    ],
)
def test_a_bad_day_names_the_line(day: str, expected: str) -> None:
    message = refused(f"actions:\n  - action: first_login\n    day: {day}\n")
    assert message == f"journey.yaml:3: {expected}"


def test_every_problem_is_reported_at_once() -> None:
    message = refused(
        "actions:\n"
        "  - {day: 1, action: key_action}\n"
        "  - {day: 2, action: first_login, args: {name: x}}\n"
        "  - {day: 3, action: module_completed, args: {modul: quick_start}}\n"
        "  - {day: 4, action: survey_answer, args: {goal_reached: true, csat: 9}}\n"
        "  - {day: 5, action: pause, args: {reason: freeze, until: next week}}\n"
        "  - {day: 6, action: cancel, args: {reason: bored}}\n"
    ).splitlines()
    assert message == [
        "journey.yaml:2: actions[0].args.name: key_action needs name",
        "journey.yaml:3: actions[1].args.name: unknown argument for first_login (it takes: none)",
        "journey.yaml:4: actions[2].args.module: Field required",
        "journey.yaml:4: actions[2].args.modul: Extra inputs are not permitted",
        "journey.yaml:5: actions[3].args.csat: Input should be less than or equal to 5",
        "journey.yaml:6: actions[4].args.until: expected the day the pause ends, as a number of days since signing,"
        " got 'next week'",
        "journey.yaml:7: actions[5].args.reason: Input should be 'churned', 'lost', 'duplicate', 'contract_void'"
        " or 'other'",
    ]


def test_a_file_that_does_not_parse_names_line_and_column() -> None:
    assert refused("actions:\n  - {day: 1, action: first_login\n").startswith("journey.yaml:3:1: does not parse")
    with pytest.raises(ScenarioError) as caught:
        parse('{"actions": [\n  {"day": 1, "action": "first_login"},\n]}', "journey.json")
    assert str(caught.value) == "journey.json:3:1: does not parse as JSON: Expecting value"
    assert refused("- {day: 1, action: first_login}\n") == (
        "journey.yaml:1: expected a mapping with actions (and optionally segment, contract, expect)"
    )
    assert refused("segment: smb\nactoins: []\n") == "journey.yaml:2: actoins: Extra inputs are not permitted"


def test_a_contract_is_checked_like_a_signed_one() -> None:
    message = refused(
        "contract:\n"
        "  account_id: Bad Id\n"
        "  company: Corner Bakery\n"
        "  acv: 2400\n"
        "  employees: 12\n"
        "  contacts: [{name: Ana, email: not-an-address, role: champion}]\n"
        "  sales_rep: {name: Jordan, email: jordan@vendor.example}\n"
        "  success_criteria: [Online orders live]\n"
    ).splitlines()
    assert message[0].startswith("journey.yaml:2: contract.account_id: expected an account id like brightpath-dental")
    assert message[1] == "journey.yaml:6: contract.contacts[0].email: expected an email address like name@company.com"
    assert refused("contract: {signed_at: 2026-01-01T00:00:00Z}\n") == (
        "journey.yaml:1: contract.signed_at: leave it out: the simulation signs the contract on day 0"
    )


def test_actions_run_in_day_order_and_become_the_workflow_messages() -> None:
    parsed = parse(
        "segment: smb\n"
        "days: 12\n"
        "actions:\n"
        "  - {day: 3, action: key_action, args: {name: booking_page_published}}\n"
        "  - {day: 0.5, action: pause, args: {reason: freeze, until: 2.5}}\n"
        "  - {day: 9, action: survey_answer, args: {goal_reached: false, ces: 6}}\n",
        "journey.yaml",
        name="journey",
    )
    assert (parsed.segment, parsed.days) == ("smb", 12)
    assert [(s.day, s.action, s.line) for s in parsed.steps] == [
        (0.5, "pause", 5),
        (3, "key_action", 4),
        (9, "survey_answer", 6),
    ]
    signed = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert parsed.steps[0].message(signed) == Pause(reason="freeze", until=signed + timedelta(days=2.5))
    assert parsed.steps[1].message(signed) == ProductEvent(name="key_action", action="booking_page_published")
    assert parsed.steps[2].message(signed) == ProductEvent(name="survey_answer", goal_reached=False, ces=6)


def test_an_action_after_the_end_of_the_run_is_refused() -> None:
    parsed = parse("actions:\n  - {day: 45, action: first_login}\n", "journey.yaml")
    parsed.check_days(60)
    with pytest.raises(ScenarioError) as caught:
        parsed.check_days(40)
    assert str(caught.value).splitlines() == [
        "journey.yaml: actions[0] (line 2): day 45 is after the end of the run (day 40)",
        "raise --days or move the actions earlier",
    ]


def test_an_empty_file_is_a_silent_customer() -> None:
    assert parse("", "journey.yaml").steps == ()
