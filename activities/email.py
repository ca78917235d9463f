"""Send one email, effectively once: the outbox row with the touch's key is the proof of sending."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select
from temporalio import activity

from onboarding.config import Settings
from onboarding.db import OutboxEmail, TimelineEvent, engine
from onboarding.effects import EmailRequest
from onboarding.email import outbox
from onboarding.email.render import Rendered, render


@activity.defn
def send_email(request: EmailRequest) -> str:
    """Render, store, deliver; a retry that finds the key already sent returns its message id."""
    settings = Settings.from_env()
    with Session(engine(settings.database_url)) as db:
        row = db.exec(select(OutboxEmail).where(OutboxEmail.key == request.key)).first()
        if row and row.status == "sent":
            return row.provider_message_id or ""
        if row is None:
            context = {
                **request.context,
                "recipient_name": request.to.name,
                "run_url": settings.run_url(request.workflow_id),
            }
            mail = render(request.template, request.locale, context)
            row = OutboxEmail(
                key=request.key,
                account_id=request.account_id,
                workflow_id=request.workflow_id,
                template=request.template,
                to_role=request.to.role,
                to_email=request.to.email,
                subject=mail.subject,
                text=mail.text,
                html=mail.html,
                backend=settings.email_backend,
                created_at=request.at,
            )
            db.add(row)
            db.commit()
        path = outbox.write_eml(
            settings.outbox_dir,
            row.key,
            settings.email_from,
            request.to.name,
            row.to_email,
            Rendered(row.subject, row.text, row.html),
        )
        row.status, row.sent_at, row.provider_message_id = "sent", datetime.now(UTC), path.name
        db.add(row)
        db.add(
            TimelineEvent(
                key=f"{request.key}#sent",
                account_id=request.account_id,
                at=request.at,
                kind="email",
                name=request.template,
                actor="engine",
                to=request.to.role,
                detail=row.subject,
            )
        )
        db.commit()
        return path.name
