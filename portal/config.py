"""The portal's settings, from the environment (docs/portal.md lists them)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta

DEV_SECRET = "local-development-only-portal"  # a laptop's default; set PORTAL_KEYS in production
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def dev_key(seed: str = DEV_SECRET) -> str:
    """A valid Fernet key derived from a phrase, so a laptop's links survive restarts."""
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest()).decode()


def _keys(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return (dev_key(),)
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    for i, key in enumerate(keys):
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"PORTAL_KEYS: key {i + 1} is not a Fernet key (32 url-safe base64 bytes); make one with:"
                " python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return keys


def _duration(name: str, default: float, unit: str) -> timedelta:
    raw = os.environ.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number of {unit}, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name}: expected a positive number of {unit}, got {raw!r}")
    return timedelta(**{unit: value})


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}: expected a whole number of at least 1, got {raw!r}")
    return int(raw)


def _colour(name: str, default: str) -> str:
    raw = os.environ.get(name, default)
    if not _COLOUR.match(raw):
        raise ValueError(f"{name}: expected a colour like #2f6fed, got {raw!r}")
    return raw


@dataclass(frozen=True)
class PortalSettings:
    keys: tuple[str, ...] = field(repr=False)
    """Fernet keys, newest first: the first signs new links, every one still opens the links it signed."""
    base_url: str
    link_lifetime: timedelta
    new_browser_after: timedelta
    """A link older than this opens in a browser the person has not used before only after a code."""
    browser_lifetime: timedelta
    code_lifetime: timedelta
    codes_per_hour: int
    actions_per_10_minutes: int
    secure_cookies: bool
    brand_name: str
    brand_colour: str
    brand_accent: str
    logo_url: str

    @classmethod
    def from_env(cls) -> PortalSettings:
        env = os.environ.get
        base = env("PORTAL_URL", "http://localhost:8000/portal").rstrip("/")
        return cls(
            keys=_keys(env("PORTAL_KEYS")),
            base_url=base,
            link_lifetime=_duration("PORTAL_LINK_DAYS", 30, "days"),
            new_browser_after=_duration("PORTAL_NEW_BROWSER_AFTER_HOURS", 72, "hours"),
            browser_lifetime=_duration("PORTAL_BROWSER_DAYS", 30, "days"),
            code_lifetime=_duration("PORTAL_CODE_MINUTES", 15, "minutes"),
            codes_per_hour=_count("PORTAL_CODES_PER_HOUR", 5),
            actions_per_10_minutes=_count("PORTAL_ACTIONS_PER_10_MINUTES", 30),
            secure_cookies=base.startswith("https://"),
            brand_name=env("PORTAL_BRAND_NAME") or env("VENDOR_NAME", "Vendor Inc."),
            brand_colour=_colour("PORTAL_BRAND_COLOUR", "#2f6fed"),
            brand_accent=_colour("PORTAL_BRAND_ACCENT", "#0b3d91"),
            logo_url=env("PORTAL_LOGO_URL", ""),
        )
