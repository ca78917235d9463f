"""One request to the portal: who the link belongs to, their plan, their browser; the pages that answer.

`admit` reads the link, refuses a changed or revoked one, asks the onboarding for its plan,
checks the person is still on it and that this browser may see it (else the code page).
Every refusal is a `Stop` carrying a page in the person's language: what happened, what to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.config import Settings
from portal import guard, store, tokens
from portal.config import PortalSettings
from portal.guard import Browser, FormRefused
from portal.i18n import Locale, pick, texts
from portal.pages import format_day, render
from portal.plan import NoPlan, Plan, fetch, on_plan
from portal.tokens import BadLink, Holder

log = logging.getLogger("portal")
LANG_COOKIE = "portal_lang"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link is a credential: never sent on to another site
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:;"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@dataclass
class Portal:
    settings: PortalSettings
    mail: Settings
    db: Engine
    app: FastAPI

    @property
    def client(self) -> Client:
        client: Client = self.app.state.client
        return client


@dataclass
class Visit:
    """One request's holder, plan and browser, once admitted."""

    holder: Holder
    plan: Plan
    browser: Browser
    locale: Locale
    token: str


class Stop(Exception):
    """Answer with this page instead of going on."""

    def __init__(self, response: Response) -> None:
        super().__init__()
        self.response = response


def now() -> datetime:
    return datetime.now(UTC)


def locale_of(request: Request, fallback: str) -> Locale:
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE), fallback)


def page(
    portal: Portal, name: str, locale: str, status: int = 200, browser: Browser | None = None, **context: Any
) -> HTMLResponse:
    response = HTMLResponse(render(name, portal.settings, locale, **context), status_code=status, headers=HEADERS)
    if browser is not None:
        remember(portal, response, browser)
    return response


def remember(portal: Portal, response: Response, browser: Browser) -> None:
    """Set the browser's cookie: its id and the people it is trusted for (portal.guard)."""
    response.set_cookie(
        guard.BROWSER_COOKIE,
        guard.browser_cookie(portal.settings, browser, now()),
        max_age=int(portal.settings.browser_lifetime.total_seconds()),
        path="/portal",
        httponly=True,
        samesite="lax",
        secure=portal.settings.secure_cookies,
    )


def refusal(portal: Portal, locale: str, key: str, status: int, back: str | None = None, **values: Any) -> Stop:
    """A page saying what happened (`<key>_title`, `<key>`) and what to do (`<key>_now`)."""
    t = texts(locale)
    title = t.get(f"{key}_title", t["refused_title"])
    now_key = f"{key}_now" if f"{key}_now" in t else "refused_now"
    return Stop(
        page(
            portal,
            "message",
            locale,
            status,
            title=title,
            lines=[t[key].format(**values)] if key in t else [],
            what_now=t[now_key].format(**values),
            back=back,
        )
    )


async def admit(portal: Portal, request: Request, token: str, need_trust: bool = True) -> Visit:
    """The link's holder and their plan, or Stop with the page to show instead."""
    locale = locale_of(request, "en")
    try:
        holder = tokens.read(portal.settings, token)
    except BadLink:
        log.info("portal: a link that is not ours was opened")
        raise refusal(portal, locale, "bad_link", 404) from None
    cut = store.revoked_at(portal.db, holder.account_id, holder.email)
    if cut is not None and holder.issued_at <= cut.replace(tzinfo=UTC):
        raise refusal(portal, locale, "revoked", 403, date=format_day(cut, locale))
    try:
        plan = await fetch(portal.client, holder.account_id)
    except NoPlan:
        raise refusal(portal, locale, "no_plan", 404) from None
    except RPCError as e:
        log.error("portal: Temporal did not answer the plan query: %s", e.status)
        raise refusal(portal, locale, "unavailable", 503) from None
    locale = locale_of(request, plan.locale)
    if not on_plan(plan, holder):
        raise refusal(portal, locale, "not_on_plan", 403)
    browser = guard.read_browser(portal.settings, request.cookies.get(guard.BROWSER_COOKIE))
    visit = Visit(holder, plan, browser, locale, token)
    if need_trust:
        reason = needs_code(portal.settings, visit, cut)
        if reason:
            raise Stop(code_page(portal, visit, reason))
    return visit


def needs_code(settings: PortalSettings, visit: Visit, revoked: datetime | None) -> str | None:
    """'expired' or 'new_browser' when this browser must enter a code first; None when it may go on."""
    holder, browser, at = visit.holder, visit.browser, now()

    def trusted(*how: guard.Trust) -> bool:
        since = browser.trusted_since(holder, how, settings.browser_lifetime, at)
        return since is not None and (revoked is None or since > revoked.replace(tzinfo=UTC))

    if holder.expired(settings, at):
        return None if trusted("code") else "expired"
    if at - holder.issued_at <= settings.new_browser_after:
        if not trusted("code"):
            browser.trust(holder, "link", at)
        return None
    return None if trusted("link", "code") else "new_browser"


def code_page(
    portal: Portal, visit: Visit, reason: str, sent: bool = False, error: str | None = None, status: int = 200
) -> HTMLResponse:
    t = texts(visit.locale)
    days = int(portal.settings.link_lifetime.total_seconds() // 86400)
    return page(
        portal,
        "code",
        visit.locale,
        status,
        browser=visit.browser,
        why=t["code_expired"].format(days=days) if reason == "expired" else t["code_new_browser"],
        reason=reason,
        sent=sent,
        minutes=int(portal.settings.code_lifetime.total_seconds() // 60),
        error=error,
        form=guard.new_form(portal.settings, visit.browser, visit.holder).sealed,
        base=base(visit.token),
    )


def base(token: str) -> str:
    return f"/portal/p/{token}"


def open_form(portal: Portal, visit: Visit, sealed: str | None) -> str:
    try:
        return guard.open_form(portal.settings, visit.browser, visit.holder, sealed)
    except FormRefused as e:
        log.info("portal: a form was refused (%s)", e.kind)
        key = {"csrf": "form_csrf", "stale": "form_stale", "other_person": "form_other"}[e.kind]
        t = texts(visit.locale)
        raise Stop(
            page(
                portal,
                "message",
                visit.locale,
                403,
                browser=visit.browser,
                title=t[f"{key}_title"],
                lines=[t[key]],
                what_now=t["form_now"],
                back=base(visit.token),
            )
        ) from None
