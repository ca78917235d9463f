"""Bodies the intake cannot parse: each is a 400 naming the problem, never a 500 a sender redelivers forever.

Every route that reads JSON is covered (the CRM's contract webhook, product events, SendGrid's
event webhook), and nothing of the body (a contact's name or address) comes back in the
answer or goes to a log line. Temporal is never reached: the body is refused first.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.email import webhook
from intake.app import IntakeSettings, create_app
from intake.signing import headers
from service.bodies import MAX_DEPTH
from tests.conftest import contract

SECRET = "intake-edges-secret-012345"
KEY = ec.generate_private_key(ec.SECP256R1())
DEEP = f"nested more than {MAX_DEPTH} levels deep; no document we accept goes beyond a few levels"


def nested(depth: int, inside: str = "1") -> bytes:
    return ("[" * depth + inside + "]" * depth).encode()


def sendgrid_headers(body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = base64.b64encode(KEY.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    return {webhook.SIGNATURE_HEADER: signature, webhook.TIMESTAMP_HEADER: timestamp}


def post(path: str, body: bytes) -> httpx.Response:
    """One signed request to the intake app, in process; an unhandled error comes back as a 500."""
    app = create_app(IntakeSettings(secret=SECRET, max_body=1_000_000, max_skew=300))
    app.state.client = None  # never reached: the body is refused before Temporal is called
    signed = sendgrid_headers(body) if path == "/webhooks/sendgrid" else headers(SECRET, body)

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake") as http:
            return await http.post(path, content=body, headers=signed | {"Content-Type": "application/json"})

    return asyncio.run(send())


@pytest.fixture(autouse=True)
def sendgrid_key(monkeypatch: pytest.MonkeyPatch) -> None:
    public = KEY.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(public).decode())


@pytest.mark.parametrize("depth", [40, 100_000], ids=["deeper than we read", "deeper than Python's parser"])
@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/contracts", [DEEP]),
        ("/accounts/acme/events", [f"body: {DEEP}"]),
        ("/webhooks/sendgrid", f"body: {DEEP}; expected a JSON array of SendGrid events"),
    ],
)
def test_deeply_nested_json_is_refused_with_a_400_on_every_route(path: str, detail: object, depth: int) -> None:
    response = post(path, nested(depth))
    assert response.status_code == 400, response.text
    assert response.json() == {"detail": detail}


def test_nesting_inside_a_field_is_refused_without_repeating_the_contract(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    data = contract("smb", account_id="acme-deep")
    raw = json.dumps(data).replace('"notes": ', f'"notes": {nested(60).decode()}, "x": ', 1).encode()
    assert raw != json.dumps(data).encode()
    response = post("/contracts", raw)
    assert response.status_code == 400 and response.json() == {"detail": [DEEP]}
    champion = next(c for c in data["contacts"] if c["role"] == "champion")
    for personal in (champion["name"], champion["email"]):
        assert personal not in response.text and personal not in caplog.text


def test_a_document_at_the_depth_a_contract_has_is_read() -> None:
    response = post("/accounts/acme/events", json.dumps({"name": "first_logon", "action": [[["x"]]]}).encode())
    assert response.status_code == 400
    assert "name: Input should be 'first_login'" in response.json()["detail"][0]  # the model speaks, not the parser
