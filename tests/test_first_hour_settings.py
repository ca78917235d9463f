"""Settings from the environment (pydantic-settings): defaults for a laptop, every bad value named at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.config import LOCAL, Settings


def test_unset_and_empty_variables_take_the_laptop_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "EMAIL_BACKEND", "OUTBOX_DIR", "SENDGRID_TIMEOUT", "EMAIL_CONFIRM_WINDOW"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SENDGRID_UNSUBSCRIBE_GROUP", "")
    monkeypatch.setenv("TEMPORAL_UI_URL", "https://temporal.example.com/")
    s = Settings.from_env()
    assert s.database_url == f"sqlite:///{LOCAL / 'onboarding.db'}"
    assert (s.email_backend, s.outbox_dir, s.sendgrid_unsubscribe_group) == ("outbox", LOCAL / "outbox", None)
    assert (s.sendgrid_timeout, s.email_confirm_window) == (10.0, timedelta(minutes=10))
    assert s.run_url("onboarding-x") == "https://temporal.example.com/namespaces/default/workflows/onboarding-x"


def test_every_bad_variable_is_named_in_one_message(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {
        "EMAIL_BACKEND": "smtp",
        "SENDGRID_TIMEOUT": "soon",
        "SENDGRID_SANDBOX": "maybe",
        "SENDGRID_UNSUBSCRIBE_GROUP": "newsletters",
        "EMAIL_CONFIRM_WINDOW": "-5",
    }
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as refused:
        Settings.from_env()
    assert str(refused.value).splitlines() == [
        "EMAIL_BACKEND: expected one of outbox, sendgrid, got 'smtp'",
        "SENDGRID_TIMEOUT: expected a positive number of seconds, got 'soon'",
        "SENDGRID_SANDBOX: expected true or false, got 'maybe'",
        "SENDGRID_UNSUBSCRIBE_GROUP: expected a SendGrid unsubscribe group id (a number), got 'newsletters'",
        "EMAIL_CONFIRM_WINDOW: expected a positive number of seconds, got '-5'",
    ]


def test_values_are_read_with_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_SANDBOX", "yes")
    monkeypatch.setenv("SENDGRID_UNSUBSCRIBE_GROUP", "4242")
    monkeypatch.setenv("EMAIL_CONFIRM_WINDOW", "90")
    monkeypatch.setenv("STAFF_FILE", "/etc/onboarding/staff.yaml")
    s = Settings.from_env()
    assert (s.sendgrid_sandbox, s.sendgrid_unsubscribe_group, s.email_confirm_window) == (
        True,
        4242,
        timedelta(seconds=90),
    )
    assert str(s.staff_file) == "/etc/onboarding/staff.yaml"
