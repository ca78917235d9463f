"""Render one touch from templates/<locale>/<name>.{subject,txt,html}.jinja, English as fallback.

StrictUndefined everywhere: a variable the context lacks is an error here, never a blank
in a customer's inbox. HTML autoescapes; subject and text do not. Dates, numbers and plural
forms follow the locale the template is written in (Babel), so an English fallback inside a
Russian onboarding reads as English throughout. The HTML part's stylesheet is inlined into
style attributes (css-inline, remote stylesheets off), which is what mail clients render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
FALLBACK_LOCALE = "en"
LOCALES = ("en", "ru", "ms")
PARTS = ("subject", "txt", "html")
INTERNAL = frozenset(
    {
        "sales_handover_reminder",
        "personal_welcome_reminder",
        "escalation",
        "task",
        "handover_to_ongoing_csm",
        "handover_note",
    }
)
# Mail a person asked for or needs to do their job: no unsubscribe link, sent despite an unsubscribe.
TRANSACTIONAL = INTERNAL | {"colleague_invitation"}

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)
# Babel's "long" dates, except Russian's, which end in "г." and clash with a sentence's full stop.
_DATE_FORMATS = {"ru": "d MMMM y"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def is_transactional(name: str) -> bool:
    return name in TRANSACTIONAL


def _locale(ctx: Any) -> str:
    return str(ctx["locale"])


@jinja2.pass_context
def _date(ctx: Any, value: str | datetime) -> str:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    locale = _locale(ctx)
    return format_date(at.date(), _DATE_FORMATS.get(locale, "long"), locale=locale)


@jinja2.pass_context
def _number(ctx: Any, value: float) -> str:
    return format_decimal(value, locale=_locale(ctx))


@jinja2.pass_context
def _percent(ctx: Any, part: float, whole: float) -> str:
    return format_percent(part / whole if whole else 0, locale=_locale(ctx))


@jinja2.pass_context
def _plural(ctx: Any, n: int, one: str, other: str, few: str | None = None, many: str | None = None) -> str:
    """`{{ days | plural("day", "days") }}` -> "3 days"; Russian passes few and many as well."""
    form = Locale.parse(_locale(ctx)).plural_form(n)
    word = {"one": one, "few": few or other, "many": many or other}.get(form, other)
    return f"{format_decimal(n, locale=_locale(ctx))} {word}"


@lru_cache(maxsize=2)
def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(date=_date, number=_number, percent=_percent, plural=_plural)
    return env


def page_environment(folder: str) -> jinja2.Environment:
    """Web pages (the unsubscribe page, the KPI report, the portal) from templates/<folder>: autoescaped and strict."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR / folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def available(locale: str = FALLBACK_LOCALE) -> set[str]:
    """Template names that exist for a locale (the English set is complete by rule)."""
    return {p.name.removesuffix(".subject.jinja") for p in (TEMPLATE_DIR / locale).glob("*.subject.jinja")}


def written_in(name: str, locale: str) -> str:
    """The locale a touch is rendered in: the contract's, else English (per template)."""
    return locale if (TEMPLATE_DIR / locale / f"{name}.subject.jinja").exists() else FALLBACK_LOCALE


def _text(raw: str) -> str:
    lines = [line.rstrip() for line in raw.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def render(name: str, locale: str, context: dict[str, Any]) -> Rendered:
    """Subject, plain text and inlined HTML for one touch; jinja2.TemplateError on a bad template."""
    lang = written_in(name, locale)
    ctx = {**context, "locale": lang, "template": name}
    subject, text, html = (
        _env(part == "html").get_template(f"{lang}/{name}.{part}.jinja").render(ctx) for part in PARTS
    )
    return Rendered(subject=" ".join(subject.split()), text=_text(text), html=_INLINER.inline(html))
