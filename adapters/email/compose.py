"""From the workflow's EmailRequest to an email ready to hand to a backend.

The workflow knows the onboarding's state; everything else a template needs (the sender's
postal address, links into the app and the Temporal UI, the unsubscribe link, the recipient)
is added here, outside the deterministic workflow code.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from adapters.config import Settings
from adapters.email import links
from adapters.email.calendar import CalendarPart, part
from adapters.email.render import INTERNAL, Rendered, is_transactional
from onboarding.effects import EmailRequest
from onboarding.models import VENDOR_ROLES
from portal import tokens
from portal.config import PortalSettings


@dataclass(frozen=True)
class Address:
    name: str
    email: str


@dataclass(frozen=True)
class OutgoingEmail:
    """One email as a backend sends it; `key` is the outbox row that proves it was sent."""

    key: str
    workflow_id: str
    template: str
    sender: Address
    to: Address
    reply_to: Address | None
    content: Rendered
    transactional: bool
    unsubscribe_url: str | None
    calendar: CalendarPart | None = None
    """The meeting as an .ics (text/calendar with its METHOD), when the email invites to one."""


def unsubscribe_url(request: EmailRequest, settings: Settings) -> str | None:
    return None if is_transactional(request.template) else links.unsubscribe_url(settings, request.key)


def context(
    request: EmailRequest, settings: Settings, namespace: str = "default", booking_url: str | None = None
) -> dict[str, Any]:
    """The workflow's context plus what only the outside world knows (the CSM's booking page: the roster)."""
    return {
        **request.context,
        "account_id": request.account_id,
        "recipient_name": request.to.name,
        "recipient_role": request.to.role,
        "internal": request.template in INTERNAL,
        "vendor_name": settings.vendor_name,
        "postal_address": settings.postal_address,
        "app_url": settings.app_url,
        "run_url": settings.run_url(request.workflow_id, namespace),
        "unsubscribe_url": unsubscribe_url(request, settings),
        "csm_booking_url": booking_url,
        **portal_links(request),
    }


def portal_links(request: EmailRequest) -> dict[str, Any]:
    """The recipient's personal link to the plan and one-click buttons for their open steps (portal/).

    Only people of the customer's side get them. An invited colleague's link is scoped to the
    steps they were invited to. Buttons lead to a page that asks to confirm: opening a link
    changes nothing. Steps come from the journey's `open_steps` (id, title, role, confirmable,
    skippable); a step is the recipient's when it is of their role, or the one they were invited to.
    """
    if request.template in INTERNAL or request.to.role in VENDOR_ROLES:
        return {"portal_url": None, "portal_steps": []}
    settings = PortalSettings.from_env()
    colleague = request.to.role == "colleague"
    token = tokens.issue(settings, request.account_id, request.to.email, "steps" if colleague else "plan")
    base = tokens.url(settings, token)
    invited = request.context.get("step")
    steps = []
    for step in request.context.get("open_steps", []):
        if step["id"] != invited and (colleague or step["role"] != request.to.role):
            continue
        verbs = [v for v, ok in (("done", step["confirmable"]), ("stuck", True), ("na", step["skippable"])) if ok]
        steps.append({"title": step["title"], "links": {v: f"{base}/confirm/{v}/{step['id']}" for v in verbs}})
    return {"portal_url": base, "portal_steps": steps}


def outgoing(request: EmailRequest, settings: Settings, content: Rendered) -> OutgoingEmail:
    """The envelope around rendered content: customers' replies go to their CSM."""
    sender_name, sender_email = parseaddr(settings.email_from)
    csm_email = request.context.get("csm_email") or ""
    reply_to = None
    if csm_email and request.template not in INTERNAL:
        reply_to = Address(request.context.get("csm_name") or "", csm_email)
    return OutgoingEmail(
        key=request.key,
        workflow_id=request.workflow_id,
        template=request.template,
        sender=Address(sender_name, sender_email),
        to=Address(request.to.name, request.to.email),
        reply_to=reply_to,
        content=content,
        transactional=is_transactional(request.template),
        unsubscribe_url=unsubscribe_url(request, settings),
        calendar=part(request),
    )
