"""The HTTP intake: the CRM reports signed contracts, the product reports what customers do.

    POST /contracts                      a closed-won deal: start its onboarding (idempotent)
    POST /accounts/{account_id}/events   product telemetry: first login, key action, ... (a signal)
    POST /webhooks/sendgrid, /email/...  email feedback (intake/sendgrid_events.py)
    /portal/...                          the customer's plan behind a personal link (portal/, docs/portal.md)
    POST /webhooks/hubspot, /salesforce  won deals from HubSpot and Salesforce (intake/crm.py, docs/integrations.md)
    POST /slack/actions                  Claim and Resolve clicks on Slack notices (intake/slack_actions.py)

The first two are signed with the shared secret (see intake.signing) and size-limited; the
body is checked exactly like a contract file or an event the admin script sends, and a
problem answers 400 naming the field. Run it with `python starter.py serve`; the schema is
at /openapi.json, docs at /docs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from pydantic.json_schema import models_json_schema
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from adapters.config import Settings
from connection import connect, namespace
from intake import crm, sendgrid_events, slack_actions
from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, Unauthenticated, verify
from onboarding.messages import ProductEvent
from onboarding.models import Contract, Segment, problems, workflow_id
from portal import routes as portal
from service import send
from service.bodies import BadBody, read_json
from service.start import AlreadyOnboarding, ContractError, parse_contract, previous_outcome, start

log = logging.getLogger("intake")


class IntakeConfigError(ValueError):
    """The intake cannot run with this environment; the message says which variable to fix."""


@dataclass(frozen=True)
class IntakeSettings:
    secret: str
    max_body: int
    max_skew: float

    @classmethod
    def from_env(cls) -> IntakeSettings:
        secret = os.environ.get("INTAKE_SECRET", "")
        if len(secret) < 16:
            raise IntakeConfigError("INTAKE_SECRET: expected the shared signing secret, at least 16 characters")
        try:
            max_body = int(os.environ.get("INTAKE_MAX_BODY_BYTES", "65536"))
            max_skew = float(os.environ.get("INTAKE_MAX_SKEW_SECONDS", "300"))
        except ValueError as e:
            raise IntakeConfigError(
                f"INTAKE_MAX_BODY_BYTES / INTAKE_MAX_SKEW_SECONDS: expected numbers ({e})"
            ) from None
        return cls(secret, max_body, max_skew)


class Onboarding(BaseModel):
    """The onboarding a contract started, or the one it already has."""

    account_id: str
    workflow_id: str
    segment: Segment
    outcome: Literal["started", "already_onboarding"]
    run_url: str
    previous: str | None = Field(
        None, description="how the account's last onboarding ended (e.g. cancelled), when this one starts it again"
    )


class Accepted(BaseModel):
    account_id: str
    event: str
    outcome: Literal["accepted"] = "accepted"


class Problem(BaseModel):
    detail: str | list[str]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid: one line per field at fault"},
    401: {"model": Problem, "description": "Missing, wrong or stale signature"},
    413: {"model": Problem, "description": "The body is larger than INTAKE_MAX_BODY_BYTES"},
    503: {"model": Problem, "description": "Temporal is unreachable; retry later"},
}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Document the JSON body a route reads itself (it must see the raw bytes to check the signature)."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


async def signed_body(
    request: Request,
    timestamp: Annotated[
        str | None, Header(alias=TIMESTAMP_HEADER, description="Unix seconds when the request was signed")
    ] = None,
    signature: Annotated[
        str | None,
        Header(alias=SIGNATURE_HEADER, description="sha256=HEX: HMAC-SHA256(secret, '<timestamp>.' + raw body)"),
    ] = None,
) -> bytes:
    """The raw body, read up to the size limit, and only if it is signed with the shared secret."""
    settings: IntakeSettings = request.app.state.settings
    declared = request.headers.get("content-length", "")
    too_large = HTTPException(413, f"body larger than {settings.max_body} bytes")
    if declared.isdigit() and int(declared) > settings.max_body:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_body:
            raise too_large
    try:
        verify(settings.secret, bytes(body), timestamp, signature, settings.max_skew, time.time())
    except Unauthenticated as e:
        log.warning("refused %s %s: %s", request.method, request.url.path, e)
        raise HTTPException(401, str(e)) from None
    return bytes(body)


SignedBody = Annotated[bytes, Depends(signed_body)]


def temporal(request: Request) -> Client:
    client: Client = request.app.state.client
    return client


async def contract_signed(raw: SignedBody, request: Request, response: Response) -> Onboarding:
    """A contract was signed (closed-won in the CRM): start its onboarding.

    Idempotent on the account while its onboarding is open: a repeat answers 200 with the
    onboarding that already exists. After one that ended (cancelled, failed), a new one starts.
    """
    try:
        contract = parse_contract(raw)
    except ContractError as e:
        raise HTTPException(400, str(e).splitlines()) from None
    outcome: Literal["started", "already_onboarding"] = "started"
    previous = await previous_outcome(temporal(request), contract.workflow_id)
    try:
        await start(temporal(request), contract)
        log.info("started %s (%s)", contract.workflow_id, contract.picked_segment())
    except AlreadyOnboarding:
        outcome, previous = "already_onboarding", None
        response.status_code = 200
    return Onboarding(
        account_id=contract.account_id,
        workflow_id=contract.workflow_id,
        segment=contract.picked_segment(),
        outcome=outcome,
        run_url=Settings.from_env().run_url(contract.workflow_id, namespace()),
        previous=previous,
    )


async def product_event(account_id: str, raw: SignedBody, request: Request) -> Accepted:
    """Something the customer did in the product; it reaches the onboarding as a signal.

    An `id` makes redelivery harmless: the onboarding applies each id once.
    """
    try:
        event = ProductEvent.model_validate(read_json(raw))
    except BadBody as e:
        raise HTTPException(400, [f"body: {e}"]) from None
    except ValidationError as e:
        raise HTTPException(400, problems(e)) from None
    handle = temporal(request).get_workflow_handle(workflow_id(account_id))
    try:
        await send.signal(handle, event)
    except RPCError as e:
        if e.status != RPCStatusCode.NOT_FOUND:
            raise
        try:
            await handle.describe()
        except RPCError:
            raise HTTPException(404, f"no onboarding for account {account_id!r}") from None
        raise HTTPException(409, f"the onboarding for {account_id} has ended; it takes no more events") from None
    return Accepted(account_id=account_id, event=event.name)


async def temporal_unavailable(_request: Request, error: Exception) -> JSONResponse:
    log.error("Temporal call failed: %s", error)
    return JSONResponse({"detail": "Temporal is unavailable; retry later"}, status_code=503)


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """The intake app; Temporal is reached (temporalio.envconfig) when it starts, unless
    `app.state.client` is already set."""
    settings = settings or IntakeSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "client", None) is None:
            app.state.client = await connect()
        yield

    app = FastAPI(
        title="Onboarding intake",
        version="1",
        summary="Signed contracts from the CRM and product events start and move customer onboardings.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_exception_handler(RPCError, temporal_unavailable)
    app.post(
        "/contracts",
        status_code=201,
        responses={200: {"model": Onboarding}, **ERRORS},
        openapi_extra=body_schema(Contract),
    )(contract_signed)
    app.post(
        "/accounts/{account_id}/events",
        status_code=202,
        responses={**ERRORS, 404: {"model": Problem}, 409: {"model": Problem}},
        openapi_extra=body_schema(ProductEvent),
    )(product_event)

    app.include_router(sendgrid_events.router)  # SendGrid's Event Webhook and the unsubscribe link
    app.include_router(crm.router)  # HubSpot and Salesforce won deals (docs/integrations.md)
    app.include_router(slack_actions.router)  # Claim and Resolve buttons on Slack notices
    try:
        portal.include(app)  # the customer's plan page behind a personal link (portal/)
    except ValueError as e:
        raise IntakeConfigError(str(e)) from None

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            _, defs = models_json_schema(
                [(Contract, "validation"), (ProductEvent, "validation")],
                ref_template="#/components/schemas/{model}",
            )
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
            for operations in schema["paths"].values():  # bodies are checked by hand: 400, never FastAPI's 422
                for operation in operations.values():
                    operation["responses"].pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
