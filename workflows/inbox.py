"""A message as it reaches the onboarding: named by the catalogue, one JSON object, validated."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RawValue

from onboarding.messages import BY_NAME, Message
from onboarding.models import problems


def decode(name: str, args: Sequence[RawValue], via: str) -> Message:
    """The catalogue's message `name` sent as a `via` ("update" or "signal"); ValueError in a CSM's words."""
    kind = BY_NAME.get(name)
    if kind is None or kind.via != via:
        known = ", ".join(k.name for k in BY_NAME.values() if k.via == via)
        raise ValueError(f"unknown {via} {name!r}; this onboarding takes: {known}")
    if len(args) != 1:
        raise ValueError(f"{name}: expected one argument (a JSON object), got {len(args)}")
    try:
        message: Message = workflow.payload_converter().from_payload(args[0].payload, kind.model)
    except ValidationError as e:
        raise ValueError("\n".join(problems(e))) from None
    return message
