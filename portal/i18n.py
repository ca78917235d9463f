"""The portal's words in English, Russian and Malay; the page's locale is the contract's unless switched.

Each locale's sentences are a module of their own (portal/texts_en.py, texts_ru.py, texts_ms.py),
keyed alike.
"""

from __future__ import annotations

from typing import Literal

from portal import texts_en, texts_ms, texts_ru

Locale = Literal["en", "ru", "ms"]
LOCALES: tuple[Locale, ...] = ("en", "ru", "ms")
NAMES = {"en": "English", "ru": "Русский", "ms": "Bahasa Melayu"}

_TEXTS: dict[str, dict[str, str]] = {"en": texts_en.TEXTS, "ru": texts_ru.TEXTS, "ms": texts_ms.TEXTS}


def texts(locale: str) -> dict[str, str]:
    return _TEXTS.get(locale, texts_en.TEXTS)


def pick(locale: str | None, fallback: str) -> Locale:
    """The locale asked for when we speak it, else the fallback (the contract's), else English."""
    for candidate in (locale, fallback):
        if candidate in LOCALES:
            return candidate  # type: ignore[return-value]
    return "en"
