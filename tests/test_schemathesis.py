"""Schemathesis against the intake's own OpenAPI schema: `python starter.py serve` on 127.0.0.1,
a real Temporal server behind it, every operation called with what its schema allows (and with
what it does not), every answer checked against the schema: documented status, content type
and body, and never a server error.

Requests to the signed routes are signed like the CRM signs them, so the bodies are what is
tested; the signature itself is tested unsigned, and in tests/test_bad_input.py.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.config._checks import NegativeDataRejectionConfig

from adapters.db import upgrade
from intake.app import IntakeSettings, create_app
from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, headers
from tests.live_stack import free_port
from tests.test_scale_out import dev_server_running

ROOT = Path(__file__).resolve().parent.parent
SECRET = "schemathesis-intake-secret-0123456789"
SIGNED = ("/contracts", "/accounts/{account_id}/events")
WEBHOOK_PUBLIC_KEY = base64.b64encode(
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
).decode()


@pytest.fixture(scope="module")
def intake_url() -> Iterator[str]:
    """The intake, served as in production, on a real (dev) Temporal server and a throwaway database."""
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as folder, dev_server_running(Path(folder)) as address:
        database = f"sqlite:///{folder}/onboarding.db"
        upgrade(database)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "INTAKE_", "PAYLOAD_"))} | {
            "TEMPORAL_ADDRESS": address,
            "INTAKE_SECRET": SECRET,
            "DATABASE_URL": database,
            "OUTBOX_DIR": f"{folder}/outbox",
            "SENDGRID_WEBHOOK_PUBLIC_KEY": WEBHOOK_PUBLIC_KEY,
        }
        log = Path(folder) / "intake.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "starter.py", "serve", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
            )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(url):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def operation(url: str, method: str, path: str) -> Any:
    """One operation of the intake's live schema."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.update(base_url=url)
    # A body that breaks the schema is refused, as documented: 400, or 413 when it is too large.
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(expected_statuses=[400, 404, 413])
    return schema[path][method]


def body_of(case: Any, url: str) -> tuple[dict[str, Any], bytes | None]:
    """The request as transport arguments, and the exact bytes of its body."""
    kwargs = case.as_transport_kwargs(base_url=url)
    raw = kwargs.get("data")
    if "json" in kwargs:
        raw = json.dumps(kwargs["json"]).encode()
    return kwargs, raw.encode() if isinstance(raw, str) else raw


def call(case: Any, url: str, sign: bool) -> requests.Response:
    """Send the case as its client would: the body's exact bytes, signed with the shared secret."""
    kwargs, raw = body_of(case, url)
    sent = {k: v for k, v in (kwargs.get("headers") or {}).items() if k not in (TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    if sign:
        sent |= headers(SECRET, raw or b"")
    return requests.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), data=raw, headers=sent, timeout=30
    )


def utf8(raw: bytes | None) -> bool:
    try:
        (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


UNDOCUMENTED = pytest.mark.xfail(
    strict=True,
    reason="intake/sendgrid_events.py documents only the success status: its 400/401/403/404/413/503 answers "
    "(and FastAPI's 422 for a missing query parameter, which intake/app.py removes from every operation) "
    "are missing from the schema",
)
# Salesforce's SOAP envelopes and Slack's signed form posts are sent in the providers' own formats
# by tests/test_integrations_salesforce.py and tests/test_integrations_slack.py.
OTHER_WIRE_FORMATS = ("/webhooks/salesforce", "/slack/actions")
OPERATIONS = [
    pytest.param(
        method.upper(),
        path,
        mode,
        marks=UNDOCUMENTED if path.startswith(("/webhooks/sendgrid", "/email/")) else (),
        id=f"{method.upper()} {path}, {'allowed' if mode == GenerationMode.POSITIVE else 'not allowed'}",
    )
    for path, methods in create_app(IntakeSettings(SECRET, 65536, 300)).openapi()["paths"].items()
    for method, spec in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode == GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")  # else nothing to break
    if path not in OTHER_WIRE_FORMATS
]


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_every_operation_answers_as_its_schema_says(
    intake_url: str, method: str, path: str, mode: GenerationMode
) -> None:
    signed = path in SIGNED

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation(intake_url, method, path).as_strategy(mode))
    def answers(case: Any) -> None:
        # Bodies that are not UTF-8 are answered 500, a known fault shown by tests/test_properties.py.
        assume(utf8(body_of(case, intake_url)[1]))
        # Business rules the schema cannot state (a champion among the contacts, an address that
        # looks like one, no signing in the future) rightly refuse some schema-valid bodies: 400.
        case.validate_response(call(case, intake_url, signed), excluded_checks=[checks.positive_data_acceptance])

    answers()


@pytest.mark.parametrize("path", SIGNED)
def test_unsigned_requests_are_refused_as_documented(intake_url: str, path: str) -> None:
    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation(intake_url, "POST", path).as_strategy(GenerationMode.POSITIVE))
    def refused(case: Any) -> None:
        response = call(case, intake_url, sign=False)
        assert response.status_code in (401, 413), response.text
        case.validate_response(response, excluded_checks=[checks.positive_data_acceptance])

    refused()
