"""The personal link: one person of one account, opaque, signed, expiring, with rotating keys.

A token is a Fernet token (cryptography's MultiFernet): the person's account, address and
scope are encrypted, so nothing personal can be read from a link, and authenticated, so a
changed character makes it invalid. Fernet stamps the time it was made; a link older than
PORTAL_LINK_DAYS is *expired*: the person is still known, and can get a one-time code by
email to go on (portal.codes). Keys rotate: PORTAL_KEYS lists them newest first; the newest
makes new links, and every key still opens the links it made until it is removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from portal.config import PortalSettings

Scope = Literal["plan", "steps"]
"""plan: a contract contact, who may act on every step; steps: an invited colleague, on their steps only."""


class BadLink(Exception):
    """Not a link we made (changed, cut short, or made with a key since removed)."""


@dataclass(frozen=True)
class Holder:
    """Who a link belongs to, and when it was made."""

    account_id: str
    email: str
    scope: Scope
    issued_at: datetime

    def expired(self, settings: PortalSettings, now: datetime) -> bool:
        return now - self.issued_at > settings.link_lifetime


def _fernet(settings: PortalSettings) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.keys])


def issue(
    settings: PortalSettings, account_id: str, email: str, scope: Scope = "plan", now: datetime | None = None
) -> str:
    """A new link token, made with the newest key."""
    payload = json.dumps({"a": account_id, "e": email.lower(), "s": scope}, separators=(",", ":")).encode()
    at = int((now or datetime.now(UTC)).timestamp())
    return _fernet(settings).encrypt_at_time(payload, at).decode()


def read(settings: PortalSettings, token: str) -> Holder:
    """Who the token belongs to (expired or not: the caller decides); BadLink if we did not make it."""
    fernet = _fernet(settings)
    try:
        raw = token.encode("ascii")
        payload = json.loads(fernet.decrypt(raw))
        issued = datetime.fromtimestamp(fernet.extract_timestamp(raw), UTC)
        scope: Scope = "steps" if payload["s"] == "steps" else "plan"
        return Holder(str(payload["a"]), str(payload["e"]), scope, issued)
    except (InvalidToken, UnicodeEncodeError, ValueError, KeyError, TypeError):
        raise BadLink from None


def url(settings: PortalSettings, token: str) -> str:
    return f"{settings.base_url}/p/{token}"
