"""Counts and names as a person reads them: "1 run", "2 runs", "SMB", "mid-market"."""

from __future__ import annotations

SEGMENT_NAMES = {"smb": "SMB", "mid_market": "mid-market", "enterprise": "enterprise"}


def plural(n: float, one: str, other: str | None = None) -> str:
    """'1 onboarding', '2 onboardings', '0.5 days'; `other` for irregular words ('1 person', '2 people')."""
    return f"{n:g} {one if n == 1 else other or one + 's'}"
