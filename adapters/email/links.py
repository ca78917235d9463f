"""Signed unsubscribe links: the message key plus an HMAC, so nobody can unsubscribe someone else.

The key names the outbox row (and through it the address), so the link carries no address
and no name; the signature proves it came from one of our emails.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from adapters.config import Settings


def _signature(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), f"unsubscribe:{key}".encode(), hashlib.sha256).hexdigest()[:32]


def unsubscribe_url(settings: Settings, key: str) -> str:
    return f"{settings.unsubscribe_url}?{urlencode({'m': key, 'sig': _signature(settings.email_link_secret, key)})}"


def valid(settings: Settings, key: str, signature: str) -> bool:
    return hmac.compare_digest(_signature(settings.email_link_secret, key), signature)
