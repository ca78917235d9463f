"""Post each escalation or staff task once to Slack and/or Teams, and show what happens to it.

The ChatNotice row (one per task key) is the proof of posting: it is written before the
post, the Slack ts after it. A retry that finds a row without a ts looks for the message in
the channel (its metadata carries the key) before posting, so a lost answer does not
become a second message. Teams cannot be searched: its flag is set right after the post.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from adapters.chat import slack, teams
from adapters.chat.view import NoticeState, NoticeView, Owner
from adapters.config import Settings
from adapters.db import Account, Staff
from adapters.integration_tables import ChatNotice
from adapters.integrations import Integrations


def owner(db: Session, staff_id: str) -> Owner:
    """A staff member as a notice names them (their id when they are not on the roster).

    A person on the customer's side (`customer:<email>`) is never named in a channel."""
    if staff_id.startswith("customer:"):
        return Owner(id="customer", name="the customer")
    person = db.get(Staff, staff_id)
    if person is None:
        return Owner(id=staff_id, name=staff_id)
    return Owner(id=person.id, name=person.name, slack_id=person.slack_id)


def staff_by_slack(db: Session, slack_id: str, email: str | None) -> Staff | None:
    """The roster entry of a Slack user: by their Slack member id, else by their email."""
    person = db.exec(select(Staff).where(Staff.slack_id == slack_id)).first()
    if person is None and email:
        person = db.exec(select(Staff).where(Staff.email == email.lower())).first()
    return person


def company(db: Session, account_id: str) -> tuple[str, str | None]:
    """The account's company name and segment (the account id and None before it is recorded)."""
    account = db.get(Account, account_id)
    return (account.company, account.segment) if account else (account_id, None)


def announce(db: Session, integrations: Integrations, view: NoticeView, segment: str | None) -> bool:
    """Post the notice where configured, once; True when anything is configured."""
    if integrations.slack is None and integrations.teams is None:
        return False
    row = db.get(ChatNotice, view.key)
    retried = row is not None
    if row is None:
        row = ChatNotice(
            key=view.key,
            account_id=view.account_id,
            workflow_id=view.workflow_id,
            slack_channel=integrations.slack.channel_for(segment) if integrations.slack else None,
            view=view.stored(),
            state=view.state,
            updated_at=datetime.now(UTC),
        )
        db.add(row)
        db.commit()
    if integrations.slack and row.slack_channel and row.slack_ts is None:
        found = slack.find(integrations.slack, row.slack_channel, view.key) if retried else None
        row.slack_ts = found or slack.post(integrations.slack, row.slack_channel, view)
        db.add(row)
        db.commit()
    if integrations.teams and not row.teams_posted:
        teams.post(integrations.teams, view)
        row.teams_posted = True
        db.add(row)
        db.commit()
    return True


def stored_view(row: ChatNotice) -> NoticeView:
    return NoticeView.model_validate(
        row.view | {"key": row.key, "account_id": row.account_id, "workflow_id": row.workflow_id, "state": row.state}
    )


def change(
    db: Session, integrations: Integrations, key: str, state: NoticeState, by: str, at: datetime
) -> NoticeView | None:
    """Show a claim, a resolution or an escalation to the manager on the posted notice.

    For `escalated_up`, `by` is who the task went up to (they become its owner). Applying
    the same change again updates the Slack message to the same content and posts nothing new.
    """
    row = db.get(ChatNotice, key)
    if row is None:
        return None
    view = stored_view(row)
    person = owner(db, by)
    same = row.state == state and view.by is not None and view.by.id == person.id
    if state == "escalated_up":
        same = row.state == state and view.owner.id == person.id
        view.owner = person
    elif state == "claimed":
        view.owner = person
    view.state, view.by, view.at = state, person, at
    if integrations.slack and row.slack_channel and row.slack_ts:
        slack.update(integrations.slack, row.slack_channel, row.slack_ts, view)
    if integrations.teams and row.teams_posted and not same:
        teams.post(integrations.teams, view)
    row.state, row.view, row.updated_at = state, view.stored(), datetime.now(UTC)
    db.add(row)
    db.commit()
    return view


def keys_of(db: Session, workflow_id: str, key_prefix: str) -> list[str]:
    """The notices of one onboarding (its keys start with the onboarding's ref)."""
    rows = db.exec(select(ChatNotice.key).where(ChatNotice.workflow_id == workflow_id)).all()
    return [k for k in rows if k.startswith(key_prefix)]


def rendered(settings: Settings, view: NoticeView) -> NoticeView:
    """The view with its link into the Temporal UI."""
    return view.model_copy(update={"run_url": settings.run_url(view.workflow_id)})
