"""The portal's personal links, forms and codes, without a server: what a person (or an attacker) can do with them."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from adapters.config import Settings
from adapters.db import engine, upgrade
from portal import codes, guard, store, tokens
from portal.config import PortalSettings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch) -> PortalSettings:
    monkeypatch.setenv("PORTAL_KEYS", Fernet.generate_key().decode())
    return PortalSettings.from_env()


def test_a_link_names_its_holder_but_shows_nothing_personal(portal: PortalSettings) -> None:
    token = tokens.issue(portal, "brightpath-dental", "Priya@BrightPath.example", now=NOW)
    for readable in ("brightpath", "priya", "BrightPath", "dental"):
        assert readable not in token
    holder = tokens.read(portal, token)
    assert (holder.account_id, holder.email, holder.scope, holder.issued_at) == (
        "brightpath-dental",
        "priya@brightpath.example",
        "plan",
        NOW,
    )
    assert tokens.url(portal, token) == f"http://localhost:8000/portal/p/{token}"


def test_a_changed_or_cut_link_is_not_ours(portal: PortalSettings) -> None:
    token = tokens.issue(portal, "acme", "a@acme.example")
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    for bad in (flipped, token[:-3], "", "not-a-token", token + "é"):
        with pytest.raises(tokens.BadLink):
            tokens.read(portal, bad)


def test_a_link_expires_after_its_lifetime(portal: PortalSettings) -> None:
    holder = tokens.read(portal, tokens.issue(portal, "acme", "a@acme.example", now=NOW))
    assert not holder.expired(portal, NOW + timedelta(days=29))
    assert holder.expired(portal, NOW + timedelta(days=31))


def test_keys_rotate_without_breaking_links_still_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("PORTAL_KEYS", old)
    before = tokens.issue(PortalSettings.from_env(), "acme", "a@acme.example")
    monkeypatch.setenv("PORTAL_KEYS", f"{new},{old}")  # the new key first: it makes new links
    rotated = PortalSettings.from_env()
    assert tokens.read(rotated, before).email == "a@acme.example"
    after = tokens.issue(rotated, "acme", "a@acme.example")
    monkeypatch.setenv("PORTAL_KEYS", new)  # the old key retired: its links stop, the new ones work
    retired = PortalSettings.from_env()
    assert tokens.read(retired, after).account_id == "acme"
    with pytest.raises(tokens.BadLink):
        tokens.read(retired, before)


def test_a_key_that_is_not_a_fernet_key_is_refused_naming_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_KEYS", "secret123")
    with pytest.raises(ValueError, match=r"PORTAL_KEYS: key 1 is not a Fernet key"):
        PortalSettings.from_env()
    monkeypatch.setenv("PORTAL_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("PORTAL_BRAND_COLOUR", "blue")
    with pytest.raises(ValueError, match=r"PORTAL_BRAND_COLOUR: expected a colour like #2f6fed"):
        PortalSettings.from_env()


def test_a_form_acts_only_from_the_browser_and_for_the_person_it_was_shown_to(portal: PortalSettings) -> None:
    priya = tokens.read(portal, tokens.issue(portal, "acme", "priya@acme.example"))
    other = tokens.read(portal, tokens.issue(portal, "globex", "sam@globex.example"))
    browser = guard.read_browser(portal, None)
    form = guard.new_form(portal, browser, priya)
    assert guard.open_form(portal, browser, priya, form.sealed) == form.key
    assert guard.new_form(portal, browser, priya).key != form.key  # each form its own idempotency key
    with pytest.raises(guard.FormRefused) as refused:
        guard.open_form(portal, guard.read_browser(portal, None), priya, form.sealed)  # another browser: CSRF
    assert refused.value.kind == "csrf"
    with pytest.raises(guard.FormRefused) as refused:
        guard.open_form(portal, browser, other, form.sealed)
    assert refused.value.kind == "other_person"
    for forged in (None, "", form.sealed[:-2] + "xx"):
        with pytest.raises(guard.FormRefused):
            guard.open_form(portal, browser, priya, forged)


def test_a_browser_cookie_keeps_its_trust_and_a_forged_one_is_a_new_browser(portal: PortalSettings) -> None:
    priya = tokens.read(portal, tokens.issue(portal, "acme", "priya@acme.example"))
    browser = guard.read_browser(portal, None)
    browser.trust(priya, "code", NOW)
    cookie = guard.browser_cookie(portal, browser, NOW)
    assert "priya" not in cookie and "acme" not in cookie
    again = guard.read_browser(portal, cookie)
    assert again.id == browser.id
    assert again.trusted_since(priya, ("code",), portal.browser_lifetime, NOW + timedelta(days=1)) == NOW
    assert again.trusted_since(priya, ("link",), portal.browser_lifetime, NOW) is None
    assert again.trusted_since(priya, ("code",), portal.browser_lifetime, NOW + timedelta(days=31)) is None
    forged = guard.read_browser(portal, cookie[:-4] + "AAAA")
    assert forged.id != browser.id and not forged.trusted


def test_a_code_is_emailed_works_once_and_is_limited(portal: PortalSettings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    mail = Settings.from_env()
    upgrade(mail.database_url)
    db = engine(mail.database_url)
    priya = tokens.read(portal, tokens.issue(portal, "acme", "priya@acme.example"))
    codes.send(portal, mail, db, priya, "Priya Nair", "ru", NOW)
    (eml,) = (tmp_path / "outbox").rglob("*.eml")
    message = email.message_from_bytes(eml.read_bytes())
    assert message["To"].endswith("<priya@acme.example>")
    plain = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    text = bytes(plain.get_payload(decode=True)).decode()  # type: ignore[arg-type]
    code = next(word for word in text.split() if word.isdigit() and len(word) == 6)
    assert "Здравствуйте, Priya Nair!" in text
    assert codes.check(portal, db, priya, "000000" if code != "000000" else "111111", NOW) == "wrong"
    assert codes.check(portal, db, priya, code, NOW) == "ok"
    assert codes.check(portal, db, priya, code, NOW) == "none"  # used up
    for _ in range(portal.codes_per_hour - 1):
        codes.send(portal, mail, db, priya, "Priya Nair", "en", NOW)
    with pytest.raises(codes.TooManyCodes):
        codes.send(portal, mail, db, priya, "Priya Nair", "en", NOW)
    codes.send(portal, mail, db, priya, "Priya Nair", "en", NOW + timedelta(hours=1, seconds=1))  # an hour later
    assert codes.check(portal, db, priya, "123456", NOW + timedelta(hours=2)) == "expired"
    stored = {row for row in store.PortalCode.model_fields}  # only a hash is kept
    assert "code" not in stored and "code_hash" in stored


def test_five_wrong_tries_use_a_code_up(portal: PortalSettings, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.setenv("OUTBOX_DIR", str(tmp_path / "outbox"))
    mail = Settings.from_env()
    upgrade(mail.database_url)
    db = engine(mail.database_url)
    priya = tokens.read(portal, tokens.issue(portal, "acme", "priya@acme.example"))
    codes.send(portal, mail, db, priya, "Priya", "en", NOW)
    text = next((tmp_path / "outbox").rglob("*.eml")).read_text()
    code = next(word for word in text.split() if word.isdigit() and len(word) == 6)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert [codes.check(portal, db, priya, wrong, NOW) for _ in range(5)] == ["wrong"] * 5
    assert codes.check(portal, db, priya, code, NOW) == "expired"  # the right code, too late
