"""Render one touch from templates/<locale>/<name>.{subject,txt,html}.jinja, English as fallback.

StrictUndefined everywhere: a variable the context lacks is an error here, never a blank
in a customer's inbox. HTML autoescapes; subject and text do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
FALLBACK_LOCALE = "en"
PARTS = ("subject", "txt", "html")
INTERNAL = frozenset(
    {
        "sales_handover_reminder",
        "personal_welcome_reminder",
        "escalation",
        "handover_to_ongoing_csm",
    }
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _date(value: str | datetime) -> str:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{at:%-d %b %Y}"


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
    env.filters["date"] = _date
    return env


def available(locale: str = FALLBACK_LOCALE) -> set[str]:
    """Template names that exist for a locale (the English set is complete by rule)."""
    return {p.name.removesuffix(".subject.jinja") for p in (TEMPLATE_DIR / locale).glob("*.subject.jinja")}


def _source(name: str, locale: str, part: str) -> str:
    path = f"{locale}/{name}.{part}.jinja"
    return path if (TEMPLATE_DIR / path).exists() else f"{FALLBACK_LOCALE}/{name}.{part}.jinja"


def render(name: str, locale: str, context: dict[str, Any]) -> Rendered:
    ctx = {"transactional": name in INTERNAL, **context}
    subject, text, html = (
        _env(part == "html").get_template(_source(name, locale, part)).render(ctx).strip() for part in PARTS
    )
    return Rendered(subject=" ".join(subject.split()), text=text + "\n", html=html)
