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
    }


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
