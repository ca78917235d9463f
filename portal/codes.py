"""The one-time code: asked for when a link has expired, or is opened in a new browser after a while.

Six digits, sent to the address the link belongs to (never typed in: the link names the
person), valid PORTAL_CODE_MINUTES, five tries, PORTAL_CODES_PER_HOUR per person. Only a
keyed hash is stored. The email goes through the same backend as the onboarding's (the
local outbox writes an .eml), outside the workflow: it is a login, not a touch of the journey.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Literal

from markupsafe import escape
from sqlalchemy.engine import Engine
from sqlmodel import Session

from adapters.config import Settings
from adapters.email.backends import backend_for
from adapters.email.compose import Address, OutgoingEmail
from adapters.email.render import Rendered
from portal import store
from portal.config import PortalSettings
from portal.i18n import Locale, texts
from portal.tokens import Holder

MAX_ATTEMPTS = 5
Checked = Literal["ok", "wrong", "expired", "none"]


class TooManyCodes(Exception):
    """This person asked for more codes in the last hour than the limit."""


def _hash(settings: PortalSettings, code: str) -> str:
    return hmac.new(settings.keys[0].encode(), f"code:{code}".encode(), hashlib.sha256).hexdigest()


def send(
    portal: PortalSettings, mail: Settings, db_engine: Engine, holder: Holder, name: str, locale: Locale, now: datetime
) -> None:
    """Make a code, store its hash and email it to the holder; TooManyCodes over the hourly limit."""
    if store.codes_since(db_engine, holder.account_id, holder.email, now - timedelta(hours=1)) >= portal.codes_per_hour:
        raise TooManyCodes
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = store.PortalCode(
        account_id=holder.account_id,
        email=holder.email,
        code_hash=_hash(portal, code),
        created_at=now,
        expires_at=now + portal.code_lifetime,
    )
    store.add_code(db_engine, row)
    t = texts(locale)
    minutes = int(portal.code_lifetime.total_seconds() // 60)
    body = t["code_email_body"].format(code=code, minutes=minutes, brand=portal.brand_name)
    greeting = t["code_email_greeting"].format(name=name)
    html = (
        f"<p>{escape(greeting)}</p><p>{escape(body)}</p><p style='font-size:28px;letter-spacing:6px'><b>{code}</b></p>"
    )
    sender_name, sender_email = parseaddr(mail.email_from)
    backend_for(mail).deliver(
        OutgoingEmail(
            key=f"portal-code/{holder.account_id}/{row.id}",
            workflow_id=f"onboarding-{holder.account_id}",
            template="portal_code",
            sender=Address(sender_name, sender_email),
            to=Address(name, holder.email),
            reply_to=None,
            content=Rendered(
                subject=t["code_email_subject"].format(code=code, brand=portal.brand_name),
                text=f"{greeting}\n\n{body}\n\n    {code}\n",
                html=html,
            ),
            transactional=True,
            unsubscribe_url=None,
        )
    )


def check(portal: PortalSettings, db_engine: Engine, holder: Holder, code: str, now: datetime) -> Checked:
    """Try the holder's latest code: ok (and used up), wrong, expired (or tried too often), none."""
    with Session(db_engine) as db:
        row = store.latest_code(db, holder.account_id, holder.email)
        if row is None or row.used_at is not None:
            return "none"
        if row.expires_at.replace(tzinfo=now.tzinfo) < now or row.attempts >= MAX_ATTEMPTS:
            return "expired"
        row.attempts += 1
        right = hmac.compare_digest(row.code_hash, _hash(portal, code.strip().replace(" ", "")))
        if right:
            row.used_at = now
        db.add(row)
        db.commit()
        return "ok" if right else "wrong"
