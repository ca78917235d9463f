"""The portal's pages, rendered from templates/portal/*.html.jinja (autoescaped, strict)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from babel.dates import format_date

from adapters.email.render import page_environment
from portal.config import PortalSettings
from portal.i18n import LOCALES, NAMES, texts

_DATE_FORMATS = {"ru": "d MMMM y"}  # Babel's long Russian date ends in "г.", which clashes with a full stop


def format_day(value: datetime | None, locale: str) -> str:
    return format_date(value.date(), _DATE_FORMATS.get(locale, "long"), locale=locale) if value else ""


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = page_environment("portal")
    env.globals.update(LOCALES=LOCALES, NAMES=NAMES)
    return env


def render(name: str, settings: PortalSettings, locale: str, **context: Any) -> str:
    t = texts(locale)
    return (
        _env()
        .get_template(f"{name}.html.jinja")
        .render(t=t, locale=locale, brand=settings, date=lambda v: format_day(v, locale), **context)
    )
