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

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from adapters.config import Settings
from adapters.db import engine
from portal import actions, codes, guard
from portal.acting import act as act_on
from portal.acting import refused
from portal.config import PortalSettings
from portal.i18n import texts
from portal.plan import may_act_on, next_for
from portal.visit import (
    HEADERS,
    LANG_COOKIE,
    Portal,
    Stop,
    Visit,
    admit,
    base,
    code_page,
    now,
    open_form,
    page,
    refusal,
    remember,
)

TOKEN_IN_PATH = re.compile(r"/portal/p/[^/?\s]+")


class RedactTokens(logging.Filter):
    """Access log lines show /portal/p/… instead of the token: a link is a credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(TOKEN_IN_PATH.sub("/portal/p/…", a) if isinstance(a, str) else a for a in record.args)
        return True


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
        base=base(visit.token),
    )


async def posted(
    portal: Portal, request: Request, token: str, need_trust: bool = True
) -> tuple[Visit, dict[str, str], str]:
    """A posted form: the visit admitted, the form's fields and its key once opened (Stop with a page when refused)."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    visit = await admit(portal, request, token, need_trust=need_trust)
    return visit, form, open_form(portal, visit, form.get("form"))


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
                raise refusal(portal, visit.locale, "action_missing", 404, back=base(token))
            target = visit.plan.step(step)
            if target is None:
                raise refusal(portal, visit.locale, "no_such_step", 404, back=base(token))
            actions.read(visit.plan, visit.holder, {"action": verb, "step": step, "reason": "-"})
        except actions.Refused as e:
            return refused(portal, visit, e)
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
            base=base(token),
        )

    @router.post("/p/{token}/act")
    async def act(token: str, request: Request) -> Response:
        try:
            visit, form, key = await posted(portal, request, token)
            return await act_on(portal, visit, key, form)
        except Stop as stop:
            return stop.response

    @router.post("/p/{token}/code")
    async def send_code(token: str, request: Request) -> Response:
        try:
            visit, form, _ = await posted(portal, request, token, need_trust=False)
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
        try:
            visit, form, _ = await posted(portal, request, token, need_trust=False)
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
        response = RedirectResponse(base(token), status_code=303, headers=HEADERS)
        remember(portal, response, visit.browser)
        return response

    app.include_router(router)
