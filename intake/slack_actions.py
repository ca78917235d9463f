"""Claim and Resolve buttons on Slack notices.

    POST /slack/actions   Slack's interaction payloads (form field `payload`), signed

The request is checked with `slack_sdk`'s SignatureVerifier (the app's signing secret; a
request more than 5 minutes old is refused with 401) and answered at once, as Slack wants
within 3 seconds; the click is then applied. The clicker is found on the roster by their
Slack member id, else by their Slack profile's email; the click becomes the catalogue's
`claim_escalation` or `resolve_escalation` message, whose id is derived from the click
(`action_ts`), so a click Slack delivers twice is applied once. The message is then updated
in place; a refusal (already resolved, not on the roster) is told to the clicker alone.
Tasks without an onboarding (a won deal missing fields) are claimed and resolved directly.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from pydantic import ValidationError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from adapters.chat import notices, slack
from adapters.chat.view import NoticeState
from adapters.config import Settings
from adapters.db import HumanTask, engine
from adapters.integration_tables import ChatNotice
from adapters.integrations import Integrations, SlackSettings
from intake.crm_processor import TASK_RULE
from onboarding.messages import BY_NAME, Action
from service import send

log = logging.getLogger("intake.slack")
router = APIRouter()
MAX_BODY = 64 * 1024
STATE: dict[str, NoticeState] = {slack.CLAIM: "claimed", slack.RESOLVE: "resolved"}


class Click:
    """One button click, as the payload says it."""

    def __init__(self, payload: dict[str, Any]) -> None:
        action = payload["actions"][0]
        self.action_id: str = action["action_id"]
        self.key: str = action["value"]
        self.user: str = payload["user"]["id"]
        self.id = f"slack-{action['action_ts']}-{self.user}"
        self.response_url: str | None = payload.get("response_url")


PROBLEM = {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Taken; the click is applied right after (a refusal goes to the clicker only)"},
    400: {"description": "Not a Slack interaction payload", "content": PROBLEM},
    401: {"description": "Missing, wrong or stale X-Slack-Signature", "content": PROBLEM},
    404: {"description": "Slack is not configured", "content": PROBLEM},
    413: {"description": "Body larger than 64 KiB", "content": PROBLEM},
}
FORM = {"schema": {"type": "object", "properties": {"payload": {"type": "string"}}, "required": ["payload"]}}
BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": FORM}}}


@router.post("/slack/actions", response_class=Response, responses=RESPONSES, openapi_extra=BODY)
async def slack_action(request: Request, background: BackgroundTasks) -> Response:
    """Acknowledge a click at once; apply it right after."""
    settings = Integrations.from_env().slack
    if settings is None:
        raise HTTPException(404, "Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_CHANNEL)")
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"body larger than {MAX_BODY} bytes")
    if not SignatureVerifier(settings.signing_secret).is_valid_request(body, dict(request.headers)):
        log.warning("refused a Slack interaction: missing, wrong or stale signature")
        raise HTTPException(401, "X-Slack-Signature: missing, not valid for this body, or older than 5 minutes")
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        click = Click(payload) if payload.get("type") == "block_actions" else None
    except (KeyError, IndexError, TypeError, ValueError):
        raise HTTPException(400, "body: expected Slack's form field 'payload' with a block_actions JSON") from None
    if click is None or click.action_id not in STATE:
        return Response(status_code=200)
    background.add_task(apply, request.app.state.client, settings, click)
    return Response(status_code=200)


async def apply(client: Client, settings: SlackSettings, click: Click) -> None:
    """Apply a click: the catalogue's message, then the notice shows it; refusals go to the clicker."""
    app_settings = Settings.from_env()
    with Session(engine(app_settings.database_url), expire_on_commit=False) as db:
        try:
            problem = await _apply(db, client, settings, click)
        except (slack.SlackError, slack.RateLimited, RPCError) as e:
            log.warning("Slack click on %s not applied: %s", click.key, type(e).__name__)
            problem = "Something went wrong on our side; please click again in a minute."
    if problem:
        log.info("Slack click on %s refused: %s", click.key, problem)
        if click.response_url:
            await run_in_threadpool(_tell, click.response_url, problem)


async def _apply(db: Session, client: Client, settings: SlackSettings, click: Click) -> str | None:
    notice = db.get(ChatNotice, click.key)
    if notice is None:
        return "This task is not known to the onboarding engine any more."
    person = await run_in_threadpool(notices.staff_by_slack, db, click.user, None)
    if person is None:
        email = await run_in_threadpool(slack.email_of, settings, click.user)
        person = await run_in_threadpool(notices.staff_by_slack, db, click.user, email)
    if person is None:
        return "You are not on the onboarding roster: ask CS ops to add your Slack member id (slack_id) to it."
    state = STATE[click.action_id]
    task = db.exec(select(HumanTask).where(HumanTask.key == click.key)).first()
    if task is not None and task.rule == TASK_RULE:
        problem = await run_in_threadpool(_without_onboarding, db, task, state, person.id)
    else:
        problem = await _through_onboarding(client, notice, click, state, person.id)
    if problem is None:
        integrations = Integrations.from_env()
        await run_in_threadpool(notices.change, db, integrations, click.key, state, person.id, datetime.now(UTC))
    return problem


async def _through_onboarding(
    client: Client, notice: ChatNotice, click: Click, state: NoticeState, by: str
) -> str | None:
    kind = BY_NAME.get(click.action_id)
    if kind is None:
        return f"This engine version has no {click.action_id} message yet; use the admin script."
    fields: dict[str, Any] = {"by": by, "id": click.id, "escalation": click.key.rsplit("/", 1)[-1]}
    if state == "resolved":
        fields["note"] = "resolved from Slack"
    try:
        message = kind.model.model_validate(fields)
        assert isinstance(message, Action)
        await send.act(client.get_workflow_handle(notice.workflow_id), message)
    except ValidationError as e:
        return f"The engine cannot take this click: {e.error_count()} field(s) not valid."
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        return cause.message if isinstance(cause, ApplicationError) else "The onboarding refused it."
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return "The onboarding has ended; it takes no more actions."
        raise
    return None


def _without_onboarding(db: Session, task: HumanTask, state: NoticeState, by: str) -> str | None:
    """A task with no onboarding behind it (a deal that could not start one): changed here."""
    if task.status != "open":
        return f"This task is already {task.status}."
    if state == "claimed":
        if task.assignee == by:
            return "You already own this task."
        task.assignee = by
    else:
        task.status, task.resolved_by, task.resolved_at = "resolved", by, datetime.now(UTC)
        task.resolution = "resolved from Slack"
    db.add(task)
    db.commit()
    return None


def _tell(response_url: str, text: str) -> None:
    """An ephemeral reply to the clicker only (Slack's response_url)."""
    try:
        WebhookClient(response_url, timeout=5).send(text=text, response_type="ephemeral", replace_original=False)
    except Exception as e:  # telling is a courtesy; the click's outcome stands
        log.warning("could not answer a Slack click: %s", type(e).__name__)
