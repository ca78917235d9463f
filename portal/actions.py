"""A portal form becomes a message of the catalogue, sent like a CSM's action, by the person who sent it.

The portal checks what it can explain best itself (the step exists in this plan, the person
may act on it, a step done by a product event is not confirmable, a required step is not
skippable, the onboarding is still open); everything else is the workflow's to refuse, and
its reason is shown as it gives it. The form's key is the action's id (the update id), so a
repeat is applied once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import ValidationError
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from onboarding.messages import BY_NAME, Action
from onboarding.models import VENDOR_ROLES, problems, workflow_id
from portal.plan import Plan, PlanStep, may_act_on
from portal.tokens import Holder
from service import send

Verb = Literal["done", "skip", "na", "stuck", "invite", "hand", "pause"]
VERBS: dict[str, str] = {
    "done": "complete_step",
    "skip": "skip_step",
    "na": "skip_step",
    "stuck": "mark_stuck",
    "invite": "invite",
    "hand": "hand_step",
    "pause": "request_pause",
}
ANSWER_WITHIN = 20.0  # seconds: then the page says the action is on its way, applied once


class Refused(Exception):
    """The action was not applied; `key` names the sentence (portal.i18n), `values` fill it in."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class Unanswered(Exception):
    """Sent, but no answer in time (a worker is down): it is applied once a worker picks it up."""


@dataclass(frozen=True)
class Request:
    verb: Verb
    step: PlanStep | None
    fields: dict[str, Any]


def read(plan: Plan, holder: Holder, form: dict[str, str]) -> Request:
    """The request a form makes, checked against the plan; Refused with the reason."""
    verb = form.get("action", "")
    if verb not in VERBS:
        raise Refused("action_missing")
    if not plan.open:
        raise Refused("ended")
    fields: dict[str, Any] = {}
    step = None
    if verb == "pause" and holder.scope != "plan":
        raise Refused("not_yours")
    if verb != "pause":
        step = plan.step(form.get("step", ""))
        if step is None:
            raise Refused("no_such_step")
        if not may_act_on(plan, holder, step):
            raise Refused("vendor_step" if step.role in VENDOR_ROLES else "not_yours")
        fields["step"] = step.id
    if verb == "done" and not step.confirmable:  # type: ignore[union-attr]
        raise Refused("not_confirmable", step=step)
    if verb in ("skip", "na") and not step.skippable:  # type: ignore[union-attr]
        raise Refused("not_skippable", step=step)
    if verb == "stuck":
        fields["reason"] = form.get("reason", "")
    elif verb == "invite":
        fields |= {"name": form.get("name", ""), "email": form.get("email", ""), "role": form.get("role") or "end_user"}
    elif verb == "hand":
        fields["to"] = form.get("to", "")
    elif verb == "pause":
        fields |= {"reason": form.get("reason", ""), "until": _day(form.get("until", ""))}
    return Request(verb, step, fields)  # type: ignore[arg-type]


def _day(value: str) -> datetime | str | None:
    """A date input's 'YYYY-MM-DD' is midnight UTC that day; empty is no end date."""
    if not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), UTC)
    except ValueError:
        return value


def message(request: Request, holder: Holder, key: str) -> Action:
    """The catalogue message, validated here like any other way in; Refused naming the field at fault."""
    kind = BY_NAME.get(VERBS[request.verb])
    if kind is None or not issubclass(kind.model, Action):
        raise Refused("action_missing")
    try:
        action = kind.model(by=f"customer:{holder.email}", id=key, **request.fields)
    except ValidationError as e:
        if any(err["loc"] == ("by",) for err in e.errors()):
            raise Refused("too_long") from None
        raise Refused("bad_input", problems="; ".join(problems(e))) from None
    assert isinstance(action, Action)
    return action


async def perform(client: Client, account_id: str, action: Action) -> None:
    """Send the action; Refused with the workflow's reason, Unanswered if no worker answers in time."""
    handle = client.get_workflow_handle(workflow_id(account_id))
    try:
        async with asyncio.timeout(ANSWER_WITHIN):
            await send.act(handle, action)
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        raise Refused("workflow", reason=cause.message if isinstance(cause, ApplicationError) else "refused") from None
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise Refused("ended") from None
        raise
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise Unanswered from None
