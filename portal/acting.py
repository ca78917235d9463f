"""A form acted on: rate limit, once per key, the catalogue message sent, and the page that says what happened."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi.responses import HTMLResponse, Response
from temporalio.service import RPCError

from portal import actions, store
from portal.i18n import texts
from portal.plan import Plan
from portal.visit import Portal, Visit, base, now, page, refusal

log = logging.getLogger("portal")


def refused(portal: Portal, visit: Visit, e: actions.Refused, status: int = 422) -> HTMLResponse:
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
        back=base(visit.token),
    )


async def act(portal: Portal, visit: Visit, key: str, form: dict[str, str]) -> Response:
    holder, t, at = visit.holder, texts(visit.locale), now()
    window = at - timedelta(minutes=10)
    if (
        store.actions_since(portal.db, holder.account_id, holder.email, window)
        >= portal.settings.actions_per_10_minutes
    ):
        raise refusal(
            portal, visit.locale, "too_many", 429, back=base(visit.token), count=portal.settings.actions_per_10_minutes
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
        raise refusal(portal, visit.locale, "form_replayed", 409, back=base(visit.token))
    try:
        request = actions.read(visit.plan, holder, form)
        await actions.perform(portal.client, holder.account_id, actions.message(request, holder, key))
    except actions.Refused as e:
        store.settle(portal.db, key, "refused", e.key)
        return refused(portal, visit, e)
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
            back=base(visit.token),
        )
    except RPCError as e:
        store.settle(portal.db, key, "refused", "unavailable")
        log.error("portal: Temporal did not take an action: %s", e.status)
        raise refusal(portal, visit.locale, "unavailable", 503, back=base(visit.token)) from None
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
        back=base(visit.token),
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
