"""The portal's pages, mounted in the intake app under /portal: `include(app)`.

    GET  /portal/p/{token}                          the plan (or the code page, or a refusal page)
    GET  /portal/p/{token}/confirm/{verb}/{step}    an email's one-click button: a page asking to confirm
    POST /portal/p/{token}/act                      a form: one catalogue action, applied once
    POST /portal/p/{token}/code                     email me a one-time code
    POST /portal/p/{token}/verify                   the code: this browser is trusted for this person

A GET never changes anything (mail scanners open links). Every refusal is a page, in the
person's language, saying what happened and what to do; never a traceback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError

from adapters.config import Settings
from adapters.db import engine
from portal import actions, codes, guard, store, tokens
from portal.config import PortalSettings
from portal.guard import Browser, FormRefused
from portal.i18n import Locale, pick, texts
from portal.pages import format_day, render
from portal.plan import NoPlan, Plan, fetch, may_act_on, next_for, on_plan
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
TOKEN_IN_PATH = re.compile(r"/portal/p/[^/?\s]+")


class RedactTokens(logging.Filter):
    """Access log lines show /portal/p/… instead of the token: a link is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN_IN_PATH.sub("/portal/p/…", a) if isinstance(a, str) else a for a in record.args)
        return True


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


def _locale(request: Request, fallback: str) -> Locale:
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE), fallback)


def page(
    portal: Portal, name: str, locale: str, status: int = 200, browser: Browser | None = None, **context: Any
) -> HTMLResponse:
    response = HTMLResponse(render(name, portal.settings, locale, **context), status_code=status, headers=HEADERS)
    if browser is not None:
        response.set_cookie(
            guard.BROWSER_COOKIE,
            guard.browser_cookie(portal.settings, browser, now()),
            max_age=int(portal.settings.browser_lifetime.total_seconds()),
            path="/portal",
            httponly=True,
            samesite="lax",
            secure=portal.settings.secure_cookies,
        )
    return response


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
    locale = _locale(request, "en")
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
    locale = _locale(request, plan.locale)
    if not on_plan(plan, holder):
        raise refusal(portal, locale, "not_on_plan", 403)
    browser = guard.read_browser(portal.settings, request.cookies.get(guard.BROWSER_COOKIE))
    visit = Visit(holder, plan, browser, locale, token)
    if need_trust:
        reason = _needs_code(portal.settings, visit, cut)
        if reason:
            raise Stop(code_page(portal, visit, reason))
    return visit


def _needs_code(settings: PortalSettings, visit: Visit, revoked: datetime | None) -> str | None:
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
        base=_base(visit.token),
    )


def _base(token: str) -> str:
    return f"/portal/p/{token}"


def plan_page(portal: Portal, visit: Visit) -> HTMLResponse:
    plan, holder = visit.plan, visit.holder
    steps = plan.steps()
    return page(
        portal,
        "plan",
        visit.locale,
        browser=visit.browser,
        plan=plan,
        me=plan.person(holder.email),
        scoped=holder.scope == "steps",
        mine=next_for(plan, holder),
        may=lambda step: may_act_on(plan, holder, step),
        seal=lambda: guard.new_form(portal.settings, visit.browser, holder).sealed,  # one key per form
        done=sum(s.state == "done" for s in steps),
        total=len(steps),
        others=[p for p in plan.people if p.email.lower() != holder.email],
        people_names={p.email: p.name for p in plan.people},
        base=_base(visit.token),
    )


def include(app: FastAPI, settings: PortalSettings | None = None, mail: Settings | None = None) -> None:
    """Mount the portal's routes in `app` (the intake); Temporal's client is `app.state.client`."""
    mail = mail or Settings.from_env()
    portal = Portal(settings or PortalSettings.from_env(), mail, engine(mail.database_url), app)
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    router = APIRouter(prefix="/portal", include_in_schema=False)

    @router.get("/p/{token}")
    async def show(token: str, request: Request) -> Response:
        try:
            visit = await admit(portal, request, token)
        except Stop as stop:
            return stop.response
        response = plan_page(portal, visit)
        if request.query_params.get("lang") == visit.locale:
            response.set_cookie(LANG_COOKIE, visit.locale, max_age=365 * 86400, path="/portal", samesite="lax")
        return response

    @router.get("/p/{token}/confirm/{verb}/{step}")
    async def confirm(token: str, verb: str, step: str, request: Request) -> Response:
        try:
            visit = await admit(portal, request, token)
            if verb not in ("done", "stuck", "na"):
                raise refusal(portal, visit.locale, "action_missing", 404, back=_base(token))
            target = visit.plan.step(step)
            if target is None:
                raise refusal(portal, visit.locale, "no_such_step", 404, back=_base(token))
            actions.read(visit.plan, visit.holder, {"action": verb, "step": step, "reason": "-"})
        except actions.Refused as e:
            return _refused(portal, visit, e)
        except Stop as stop:
            return stop.response
        t = texts(visit.locale)
        return page(
            portal,
            "confirm",
            visit.locale,
            browser=visit.browser,
            question=t[f"confirm_{verb}"].format(step=target.title_in(visit.locale)),
            verb=verb,
            step=target,
            form=guard.new_form(portal.settings, visit.browser, visit.holder).sealed,
            base=_base(token),
        )

    @router.post("/p/{token}/act")
    async def act(token: str, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            visit = await admit(portal, request, token)
            key = _open_form(portal, visit, form.get("form"))
            return await _act(portal, visit, key, form)
        except Stop as stop:
            return stop.response

    @router.post("/p/{token}/code")
    async def send_code(token: str, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            visit = await admit(portal, request, token, need_trust=False)
            _open_form(portal, visit, form.get("form"))
        except Stop as stop:
            return stop.response
        me = visit.plan.person(visit.holder.email)
        try:
            codes.send(
                portal.settings, portal.mail, portal.db, visit.holder, me.name if me else "", visit.locale, now()
            )
        except codes.TooManyCodes:
            t = texts(visit.locale)
            error = t["code_too_many"].format(count=portal.settings.codes_per_hour)
            return code_page(portal, visit, form.get("reason", "expired"), sent=True, error=error, status=429)
        return code_page(portal, visit, form.get("reason", "expired"), sent=True)

    @router.post("/p/{token}/verify")
    async def verify(token: str, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            visit = await admit(portal, request, token, need_trust=False)
            _open_form(portal, visit, form.get("form"))
        except Stop as stop:
            return stop.response
        checked = codes.check(portal.settings, portal.db, visit.holder, form.get("code", ""), now())
        if checked != "ok":
            t = texts(visit.locale)
            error = {"wrong": t["code_wrong"], "expired": t["code_stale"], "none": t["code_none"]}[checked]
            return code_page(
                portal, visit, form.get("reason", "expired"), sent=checked == "wrong", error=error, status=400
            )
        visit.browser.trust(visit.holder, "code", now())
        response = RedirectResponse(_base(token), status_code=303, headers=HEADERS)
        response.set_cookie(
            guard.BROWSER_COOKIE,
            guard.browser_cookie(portal.settings, visit.browser, now()),
            max_age=int(portal.settings.browser_lifetime.total_seconds()),
            path="/portal",
            httponly=True,
            samesite="lax",
            secure=portal.settings.secure_cookies,
        )
        return response

    app.include_router(router)


def _open_form(portal: Portal, visit: Visit, sealed: str | None) -> str:
    try:
        return guard.open_form(portal.settings, visit.browser, visit.holder, sealed)
    except FormRefused as e:
        log.info("portal: a form was refused (%s)", e.kind)
        key = "form_other" if e.kind == "other_person" else "form_csrf"
        t = texts(visit.locale)
        raise Stop(
            page(
                portal,
                "message",
                visit.locale,
                403,
                browser=visit.browser,
                title=t[f"{key}_title"],
                lines=[str(e)] if visit.locale == "en" else [],
                what_now=t["form_now"],
                back=_base(visit.token),
            )
        ) from None


def _refused(portal: Portal, visit: Visit, e: actions.Refused, status: int = 422) -> HTMLResponse:
    t = texts(visit.locale)
    csm = visit.plan.csm.name if visit.plan.csm else t["role_csm"]
    values = {k: (v.title_in(visit.locale) if hasattr(v, "title_in") else v) for k, v in e.values.items()}
    line = values.get("reason") if e.key == "workflow" else t[e.key].format(csm=csm, **values)
    return page(
        portal,
        "message",
        visit.locale,
        status,
        browser=visit.browser,
        title=t["refused_title"],
        lines=[str(line)],
        what_now=t["refused_now"].format(csm=csm),
        back=_base(visit.token),
    )


async def _act(portal: Portal, visit: Visit, key: str, form: dict[str, str]) -> Response:
    holder, t, at = visit.holder, texts(visit.locale), now()
    window = at - timedelta(minutes=10)
    if (
        store.actions_since(portal.db, holder.account_id, holder.email, window)
        >= portal.settings.actions_per_10_minutes
    ):
        raise refusal(
            portal, visit.locale, "too_many", 429, back=_base(visit.token), count=portal.settings.actions_per_10_minutes
        )
    row = store.PortalSubmission(
        key=key,
        account_id=holder.account_id,
        email=holder.email,
        action=form.get("action", "")[:40],
        step=form.get("step") or None,
        created_at=at,
    )
    earlier = store.claim(portal.db, row)
    if earlier is not None:
        raise refusal(portal, visit.locale, "form_replayed", 409, back=_base(visit.token))
    try:
        request = actions.read(visit.plan, holder, form)
        await actions.perform(portal.client, holder.account_id, actions.message(request, holder, key))
    except actions.Refused as e:
        store.settle(portal.db, key, "refused", e.key)
        return _refused(portal, visit, e)
    except actions.Unanswered:
        return page(
            portal,
            "message",
            visit.locale,
            202,
            browser=visit.browser,
            title=t["acted_title"],
            lines=[t["unavailable"]],
            what_now=t["form_replayed_now"],
            back=_base(visit.token),
        )
    except RPCError as e:
        store.settle(portal.db, key, "refused", "unavailable")
        log.error("portal: Temporal did not take an action: %s", e.status)
        raise refusal(portal, visit.locale, "unavailable", 503, back=_base(visit.token)) from None
    store.settle(portal.db, key, "done")
    log.info("portal: %s applied on %s", request.verb, holder.account_id)
    return page(
        portal,
        "message",
        visit.locale,
        200,
        browser=visit.browser,
        title=t["acted_title"],
        lines=[_acted(visit, request)],
        what_now=None,
        back=_base(visit.token),
    )


def _acted(visit: Visit, request: actions.Request) -> str:
    t, plan = texts(visit.locale), visit.plan
    step = request.step.title_in(visit.locale) if request.step else ""
    csm = plan.csm.name if plan.csm else t["role_csm"]
    if request.verb == "invite":
        outside = not plan.invite_outside_domain and _domain(str(request.fields["email"])) != _champion_domain(plan)
        return t["acted_invite_wait" if outside else "acted_invite"].format(name=request.fields["name"], step=step)
    if request.verb == "hand":
        to = plan.person(str(request.fields["to"]))
        return t["acted_hand"].format(step=step, name=to.name if to else request.fields["to"])
    if request.verb == "pause":
        return t["acted_pause" if plan.self_pause else "acted_pause_ask"]
    verb = "skip" if request.verb == "na" else request.verb
    return t[f"acted_{verb}"].format(step=step, csm=csm)


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _champion_domain(plan: Plan) -> str:
    champion = next((p for p in plan.people if p.role == "champion"), None)
    return _domain(champion.email) if champion else ""
