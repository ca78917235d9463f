"""The admin script as CSMs use it, against a real local stack (server, worker, database)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

import admin
from onboarding.models import Status
from tests import live_stack
from tests.live_stack import LiveStack

live = live_stack.live

ACT = [
    "kickoff-done", "module-done", "step-done", "criteria-met", "skip", "invite", "pause",
    "resume", "reassign", "contact", "cancel", "touch", "resolve", "event",
]  # fmt: skip
LOOK = ["list", "status", "timeline", "escalations"]


@pytest.fixture
def run(live: LiveStack, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`python admin.py ARGS...`, in-process, pointed at the live stack, acting as csm-leo."""
    live.use(monkeypatch)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(admin.app, list(args))

    return invoke


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def refused(result: Result, code: int = 1) -> str:
    """A refusal is one plain sentence on stderr and a non-zero exit, never a traceback."""
    assert result.exit_code == code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # an exit, not a crash
    return result.stderr.strip()


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    """Visibility and the database catch up with the workflow a moment later."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.2)


def test_every_command_has_help_with_an_example() -> None:
    runner = CliRunner()
    for command in ACT + LOOK:
        result = runner.invoke(admin.app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Example" in result.stdout, command


def test_a_csm_takes_an_smb_onboarding_to_completion(live: LiveStack, run: Callable[..., Result]) -> None:
    account = live.begin("smb")
    said = ok(run("touch", account, "personal_welcome", "--note", "Called the practice manager"))
    assert said.startswith(f"{account}: personal_welcome recorded; now Self-serve setup (self_serve_setup)")
    ok(run("event", account, "first_login"))
    eventually(lambda: "early_training" in ok(run("status", account)))
    ok(run("skip", f"onboarding-{account}", "quick_start"))  # the workflow id works as well
    said = ok(run("event", account, "key_action", "--action", "booking_page_published"))
    assert said == f"{account}: key_action sent; `python admin.py status {account}` shows its effect.\n"
    said = ok(run("criteria-met", account, "--evidence", "Booking page live, 34 online bookings"))
    assert said == f"{account}: success criteria met; onboarding completed.\n"

    status = Status.model_validate_json(ok(run("status", account, "--json")))
    assert status.state == "completed" and status.steps_skipped == ["quick_start"]
    eventually(lambda: "success_criteria_met by csm-leo" in ok(run("timeline", account, "--kind", "action")))
    actions = ok(run("timeline", account, "--kind", "action")).splitlines()
    assert [line.split()[3] for line in actions] == ["log_touch", "skip_step", "success_criteria_met"]
    assert all("by csm-leo" in line for line in actions)


def test_rejected_actions_print_the_workflows_reason(live: LiveStack, run: Callable[..., Result]) -> None:
    account = live.begin("smb")
    assert refused(run("module-done", account, "advanced_reporting")) == (
        f"{account}: refused: unknown module 'advanced_reporting';"
        " this playbook's modules: quick_start, feature_highlights"
    )
    assert refused(run("resume", account)) == f"{account}: refused: the onboarding is not paused"
    assert refused(run("skip", account, "log_in")) == f"{account}: refused: step 'log_in' cannot be skipped"
    assert refused(run("resolve", account, "nothing.1")) == (
        f"{account}: refused: no open escalation 'nothing.1'; open: none"
    )
    ok(run("cancel", account, "duplicate", "--note", "Signed twice in the CRM"))
    assert refused(run("pause", account, "--reason", "Holidays")) in (
        f"{account}: refused: the onboarding is cancelled",  # while the run winds down
        f"the onboarding for {account} has ended (completed); it takes no more actions or events",
    )
    ended = f"the onboarding for {account} has ended (completed); it takes no more actions or events"
    eventually(lambda: refused(run("resume", account)) == ended)
    # Refused updates leave no trace: only the cancellation is in the timeline.
    eventually(lambda: "cancel by csm-leo" in ok(run("timeline", account, "--kind", "action")))
    assert len(ok(run("timeline", account, "--kind", "action")).splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["status", "nobody-here"],
        ["module-done", "nobody-here", "quick_start"],
        ["event", "onboarding-nobody-here", "first_login"],
        ["pause", "nobody-here", "--reason", "Holidays"],
    ],
)
def test_an_unknown_account_says_so(run: Callable[..., Result], args: list[str]) -> None:
    assert refused(run(*args)) == (
        "no onboarding for account 'nobody-here'; `python admin.py list --all` lists every account"
    )


def test_bad_input_is_refused_before_it_reaches_the_workflow(live: LiveStack, run: Callable[..., Result]) -> None:
    account = live.begin("smb")
    invite = ["invite", account, "connect_integration", "--name", "Sam Lee", "--email", "sam-at-example"]
    assert refused(run(*invite), code=2) == "email: expected an email address like name@company.com"
    assert refused(run("cancel", account, "bored"), code=2) == (
        "reason: Input should be 'churned', 'lost', 'duplicate', 'contract_void' or 'other'"
    )
    assert refused(run("event", account, "survey_answer", "--csat", "4"), code=2).endswith(
        "goal_reached: a survey_answer event needs goal_reached (true or false)"
    )
    assert refused(run("pause", account, "--reason", "Audit", "--until", "2030-01-01T09:00"), code=2) == (
        "--until: expected a date like 2026-04-01 (midnight UTC) or a time with its zone like"
        " 2026-04-01T09:00+02:00; '2030-01-01T09:00' has no zone (add Z for UTC)"
    )
    assert refused(run("list", "--phase", "x' OR OnboardingHealth='red"), code=2).startswith("--phase: expected an id")
    assert "nothing recorded" in refused(run("timeline", account, "--kind", "action"))


def test_list_filters_on_the_search_attributes(live: LiveStack, run: Callable[..., Result]) -> None:
    red = live.begin("smb")
    paused = live.begin("smb")
    mid = live.begin("mid_market")
    ok(run("event", red, "survey_answer", "--goal-not-reached", "--csat", "2"))
    ok(run("pause", paused, "--reason", "Fiscal year-end freeze", "--until", "2099-01-01"))

    def listed(*filters: str) -> set[str]:
        lines = ok(run("list", *filters)).splitlines()
        return {line.split()[0] for line in lines[1:-1]} & {red, paused, mid}

    eventually(lambda: listed("--health", "red") == {red})
    eventually(lambda: listed("--escalated") == {red})
    eventually(lambda: listed("--paused") == {paused})
    assert listed("--segment", "mid_market") == {mid}
    assert listed("--segment", "smb", "--not-paused") == {red}
    assert listed("--phase", "kickoff_planning") == {mid}
    owner = Status.model_validate_json(ok(run("status", red, "--json"))).owner
    assert red in listed("--owner", owner) and mid not in listed("--owner", owner)
    row = next(line for line in ok(run("list", "--health", "red")).splitlines() if line.startswith(red))
    assert row.split()[1:4] == ["smb", "self_serve_setup", "red"] and row.endswith("escalated")
    ok(run("cancel", mid, "lost"))
    eventually(lambda: mid not in listed() and mid in listed("--all"))


def test_status_says_where_it_stands_and_what_comes_next(live: LiveStack, run: Callable[..., Result]) -> None:
    account = live.begin("smb")
    ok(run("event", account, "survey_answer", "--goal-not-reached"))
    eventually(lambda: "Open escalations: 1" in ok(run("status", account)))  # in the workflow's own details too
    text = ok(run("status", account))
    assert text.startswith(f"BrightPath Dental ({account}) · smb · active\n")
    assert "Phase      Self-serve setup (self_serve_setup)" in text
    assert "Health     red: open escalation: Success survey: the customer has not reached their goal" in text
    assert "Steps      0 done, 3 pending, 0 skipped (pending: log_in, invite_team, connect_integration)" in text
    assert "Next       personal_welcome_reminder to csm, " in text and "(in 24 h)" in text
    assert "Waiting for: Log in for the first time (champion)." in text  # the workflow's current details
    assert "  red_flag.goal_not_reached." in text and "to csm (" in text

    data = json.loads(ok(run("status", account, "--json")))
    assert data["account_id"] == account and data["health"] == "red"
    assert [e["to"] for e in data["open_escalations"]] == ["csm"]


def open_escalations(run: Callable[..., Result], *accounts: str) -> list[tuple[str, str]]:
    """(account, escalation id) of each open escalation of these accounts, in the order listed."""
    found = []
    for line in ok(run("escalations")).splitlines()[1:]:
        words = line.split()
        found += [(a, words[words.index(a) + 1]) for a in accounts if a in words]
    return found


def test_escalations_oldest_first_then_resolved(live: LiveStack, run: Callable[..., Result]) -> None:
    first, second = live.begin("smb"), live.begin("smb")
    ok(run("event", first, "survey_answer", "--goal-not-reached"))
    eventually(lambda: len(open_escalations(run, first)) == 1)
    ok(run("event", second, "survey_answer", "--goal-not-reached", "--csat", "1"))
    eventually(lambda: len(open_escalations(run, second)) == 2)

    listed = open_escalations(run, first, second)
    assert [(a, e.rsplit(".", 1)[0]) for a, e in listed] == [
        (first, "red_flag.goal_not_reached"),
        (second, "red_flag.goal_not_reached"),
        (second, "red_flag.low_csat"),
    ]
    low_csat = listed[2][1]
    said = ok(run("resolve", second, low_csat, "--note", "Call booked with the owner"))
    assert said.startswith(f"{second}: escalation {low_csat} resolved; now Self-serve setup")
    eventually(lambda: open_escalations(run, first, second) == listed[:2])
    assert ok(run("escalations", "--account", second)).count("red_flag.") == 1
