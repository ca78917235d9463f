"""Web pages that belong to email: the unsubscribe confirmation, in the account's language."""

from __future__ import annotations

from functools import lru_cache

import jinja2

from adapters.email.render import FALLBACK_LOCALE, LOCALES, page_environment


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return page_environment("pages")


def unsubscribe(locale: str, done: bool, action: str) -> str:
    """The page before (a button posting to `action`) or after unsubscribing."""
    lang = locale if locale in LOCALES else FALLBACK_LOCALE
    return _env().get_template("unsubscribe.html.jinja").render(locale=lang, done=done, action=action)
