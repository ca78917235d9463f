"""The checks before the portal shows or does anything: the browser, the form, the person's limits.

Browser: a cookie (signed with itsdangerous, HttpOnly, SameSite=Lax) holds a random browser
id and the people this browser is trusted for: trusted by opening a fresh link, or by a
one-time code. Each is kept by a hash of account and address, never the address itself.

Form: every form carries one signed field that is at once its CSRF token (bound to the
browser's id), its idempotency key (a fresh random key: the action's id, so a double submit
acts once) and a seal naming the person it was shown to (a form shown to one person is
refused when posted with another's link).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.config import PortalSettings
from portal.tokens import Holder

BROWSER_COOKIE = "portal_browser"
FORM_LIFETIME = timedelta(days=2)
Trust = Literal["link", "code"]


def _serializer(settings: PortalSettings, salt: str) -> URLSafeTimedSerializer:
    # itsdangerous signs with the *last* key and accepts them all: PORTAL_KEYS lists newest first.
    return URLSafeTimedSerializer(list(reversed(settings.keys)), salt=salt)


def person(holder: Holder) -> str:
    """A holder's stable pseudonym: what cookies and form seals carry instead of the address."""
    return hashlib.sha256(f"{holder.account_id}\n{holder.email}".encode()).hexdigest()[:24]


@dataclass
class Browser:
    id: str
    trusted: dict[str, tuple[Trust, float]] = field(default_factory=dict)
    """person -> (how, when, Unix seconds)."""

    def trust(self, holder: Holder, how: Trust, now: datetime) -> None:
        self.trusted[person(holder)] = (how, now.timestamp())

    def trusted_since(
        self, holder: Holder, how: tuple[Trust, ...], lifetime: timedelta, now: datetime
    ) -> datetime | None:
        """When this browser was trusted for the holder (in one of the `how` ways, still valid), or None."""
        entry = self.trusted.get(person(holder))
        if entry is None or entry[0] not in how:
            return None
        at = datetime.fromtimestamp(entry[1], UTC)
        return at if now - at <= lifetime else None


def read_browser(settings: PortalSettings, cookie: str | None) -> Browser:
    """The browser's cookie, or a new browser (no cookie, a cookie we did not sign, or a stale one)."""
    if cookie:
        try:
            data = _serializer(settings, "portal-browser").loads(
                cookie, max_age=int(settings.browser_lifetime.total_seconds())
            )
            trusted = {str(k): (v[0], float(v[1])) for k, v in dict(data["t"]).items() if v[0] in ("link", "code")}
            return Browser(str(data["b"]), trusted)
        except (BadSignature, KeyError, TypeError, ValueError, IndexError):
            pass
    return Browser(secrets.token_urlsafe(16))


def browser_cookie(settings: PortalSettings, browser: Browser, now: datetime) -> str:
    horizon = now.timestamp() - settings.browser_lifetime.total_seconds()
    live = {k: [v[0], v[1]] for k, v in browser.trusted.items() if v[1] >= horizon}
    return str(_serializer(settings, "portal-browser").dumps({"b": browser.id, "t": live}))


@dataclass(frozen=True)
class Form:
    key: str
    """The idempotency key: the catalogue action's id."""
    sealed: str
    """What the page puts in the hidden field."""


class FormRefused(Exception):
    """A form that cannot act: the message says why in a person's words; `kind` names the case."""

    def __init__(self, kind: Literal["csrf", "stale", "other_person"], message: str) -> None:
        super().__init__(message)
        self.kind = kind


def new_form(settings: PortalSettings, browser: Browser, holder: Holder) -> Form:
    key = secrets.token_hex(16)
    sealed = _serializer(settings, "portal-form").dumps({"k": key, "b": browser.id, "p": person(holder)})
    return Form(key, str(sealed))


def open_form(settings: PortalSettings, browser: Browser, holder: Holder, sealed: str | None) -> str:
    """The form's idempotency key, if this browser got the form for this holder; FormRefused otherwise."""
    serializer = _serializer(settings, "portal-form")
    try:
        data = serializer.loads(sealed or "", max_age=int(FORM_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise FormRefused("stale", "This form is more than two days old.") from None
    except BadSignature:
        raise FormRefused("csrf", "This form did not come from your plan page.") from None
    if data.get("b") != browser.id:
        raise FormRefused("csrf", "This form was opened in another browser, or your browser's cookies were cleared.")
    if data.get("p") != person(holder):
        raise FormRefused("other_person", "This form was shown to someone else, for another plan.")
    return str(data["k"])
