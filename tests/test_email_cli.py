"""`admin.py preview` and `admin.py outbox`, as ops and CSMs run them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

import admin
from tests.conftest import Run

Onboard = Callable[..., Awaitable[Run]]  # the `onboard` fixture in conftest.py


def invoke(*args: str) -> Result:
    return CliRunner().invoke(admin.app, list(args))


def test_preview_writes_the_html_and_prints_its_path(tmp_path: Path) -> None:
    out = tmp_path / "welcome.html"
    result = invoke("preview", "welcome", "--locale", "ms", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    html = out.read_text()
    assert '<html lang="ms">' in html and "Selamat datang!" in html and "BrightPath Dental" in html
    assert "Subject: Selamat datang, BrightPath Dental" in result.stderr


def test_preview_refuses_unknown_templates_and_locales() -> None:
    unknown = invoke("preview", "welcom")
    assert unknown.exit_code == 1 and "unknown template 'welcom'; did you mean 'welcome'?" in unknown.stderr
    bad_locale = invoke("preview", "welcome", "--locale", "fr")
    assert bad_locale.exit_code == 1 and "--locale: expected one of en, ru, ms, got 'fr'" in bad_locale.stderr


async def test_preview_and_outbox_for_a_real_onboarding(
    env: WorkflowEnvironment, onboard: Onboard, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    run = await onboard("mid_market", locale="ru", company="Ромашка")
    await env.sleep(timedelta(days=1, hours=1))

    out = tmp_path / "reengagement.html"
    account = run.contract.account_id
    preview = await asyncio.to_thread(invoke, "preview", "reengagement", "--account", account, "--out", str(out))
    assert preview.exit_code == 0, preview.output
    html = out.read_text()
    assert '<html lang="ru">' in html and "Ромашка" in html
    assert "Kickoff and planning" in html  # the onboarding's current phase
    assert f"Здравствуйте, {run.contract.contact('champion').name}!" in html

    listing = await asyncio.to_thread(invoke, "outbox", "--account", account)
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0].split() == [
        "queued",
        "(UTC)",
        "account",
        "template",
        "to",
        "status",
        "subject",
        "message",
        "id",
        "/",
        "error",
    ]
    assert any("kickoff_invitation" in line and "champion" in line and "sent" in line for line in lines)
    assert any("welcome" in line and "Добро пожаловать, Ромашка" in line for line in lines)
    assert "@" not in listing.stdout  # addresses stay out of the listing
    none = await asyncio.to_thread(invoke, "outbox", "--account", account, "--status", "failed")
    assert none.stdout.strip() == f"no emails for {account}"
