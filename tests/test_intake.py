"""The HTTP intake: signed contracts from the CRM, product events, on the real app and a real stack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from intake.app import create_app
from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, headers
from tests import live_stack
from tests.live_stack import ROOT, LiveStack, free_port

live = live_stack.live
SECRET = "test-intake-secret-0123456789"


@pytest.fixture
def http(live: LiveStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    live.use(monkeypatch)
    monkeypatch.setenv("INTAKE_SECRET", SECRET)
    monkeypatch.setenv("INTAKE_MAX_BODY_BYTES", "8192")
    with TestClient(create_app()) as client:
        yield client


def contract(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "contracts" / "smb.json").read_text())
    return data | {"account_id": f"crm-{uuid.uuid4().hex[:8]}"} | changes


def post(http: TestClient, path: str, body: bytes | dict[str, Any], secret: str = SECRET, **kw: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(path, content=raw, headers=headers(secret, raw, **kw) | {"Content-Type": "application/json"})


def onboarding_exists(live: LiveStack, account_id: str) -> bool:
    result = live.sh(f"python admin.py status {account_id} --json")
    assert result.returncode == 0 or "no onboarding for account" in result.stderr, result.stderr
    return result.returncode == 0


def test_a_signed_contract_starts_one_onboarding_and_a_repeat_finds_it(live: LiveStack, http: TestClient) -> None:
    signed = contract()
    account = signed["account_id"]
    first = post(http, "/contracts", signed)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "account_id": account,
        "workflow_id": f"onboarding-{account}",
        "segment": "smb",
        "outcome": "started",
        "run_url": f"{live.ui_url}/namespaces/default/workflows/onboarding-{account}",
        "previous": None,
    }
    live.wait_for_timeline(account)  # the worker runs it: welcome sent, first phase begun

    again = post(http, "/contracts", signed)  # the CRM retries the webhook
    assert again.status_code == 200
    assert again.json()["outcome"] == "already_onboarding"
    assert again.json()["workflow_id"] == f"onboarding-{account}"


def test_a_bad_contract_is_refused_naming_each_field(live: LiveStack, http: TestClient) -> None:
    bad = contract(acv=-5)
    bad["contacts"][0]["email"] = "priya-at-brightpath"
    response = post(http, "/contracts", bad)
    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            "acv: Input should be greater than 0",
            "contacts[0].email: expected an email address like name@company.com",
        ]
    }
    broken = post(http, "/contracts", b'{"account_id": "x",')
    assert broken.status_code == 400
    assert broken.json() == {
        "detail": ["not valid JSON: Expecting property name enclosed in double quotes at line 1, column 20"]
    }
    assert not onboarding_exists(live, bad["account_id"])


def test_unsigned_forged_tampered_and_stale_requests_are_refused(live: LiveStack, http: TestClient) -> None:
    signed = contract()
    raw = json.dumps(signed).encode()
    cases = {
        "missing": {},
        "forged": headers("some-other-secret-0000000", raw),
        "tampered": headers(SECRET, raw.replace(b"BrightPath", b"DarkPath")),
        "stale": headers(SECRET, raw, now=time.time() - 600),
        "garbled": {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"},
    }
    reasons = {name: http.post("/contracts", content=raw, headers=h) for name, h in cases.items()}
    assert {name: r.status_code for name, r in reasons.items()} == dict.fromkeys(cases, 401)
    assert {name: r.json()["detail"] for name, r in reasons.items()} == {
        "missing": f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header",
        "forged": f"{SIGNATURE_HEADER}: signature does not match the body",
        "tampered": f"{SIGNATURE_HEADER}: signature does not match the body",
        "stale": f"{TIMESTAMP_HEADER}: stale or future timestamp (allowed skew 300s)",
        "garbled": f"{TIMESTAMP_HEADER}: expected Unix seconds",
    }
    assert not onboarding_exists(live, signed["account_id"])


def test_bodies_over_the_limit_are_refused_unread(http: TestClient) -> None:
    big = contract(handover={"notes": "x" * 9000})
    assert post(http, "/contracts", big).status_code == 413
    raw = json.dumps(big).encode()
    chunks = (raw[i : i + 1000] for i in range(0, len(raw), 1000))  # no Content-Length: counted as it streams
    response = http.post("/contracts", content=chunks, headers=headers(SECRET, raw))
    assert response.status_code == 413
    assert response.json() == {"detail": "body larger than 8192 bytes"}


def test_product_events_reach_the_onboarding_once(live: LiveStack, http: TestClient) -> None:
    account = live.begin("smb")
    response = post(http, f"/accounts/{account}/events", {"name": "first_login", "id": "evt-1"})
    assert response.status_code == 202
    assert response.json() == {"account_id": account, "event": "first_login", "outcome": "accepted"}
    for _ in range(2):  # the product redelivers an event it is unsure about
        assert post(http, f"/accounts/{account}/events", {"name": "support_ticket", "id": "evt-2"}).status_code == 202

    deadline = time.monotonic() + 15
    while "support_ticket" not in (events := live.sh(f"python admin.py timeline {account} --kind event").stdout):
        assert time.monotonic() < deadline, events
        time.sleep(0.2)
    assert [line.split()[3] for line in events.splitlines()] == ["first_login", "support_ticket"]
    status = json.loads(live.sh(f"python admin.py status {account} --json").stdout)
    assert status["steps_done"] == ["log_in"] and status["phase"] == "early_training"


def test_events_for_no_onboarding_or_with_bad_fields_are_refused(live: LiveStack, http: TestClient) -> None:
    unknown = post(http, "/accounts/nobody-here/events", {"name": "first_login"})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "no onboarding for account 'nobody-here'"}

    account = live.begin("smb")
    typo = post(http, f"/accounts/{account}/events", {"name": "first_logon"})
    assert typo.status_code == 400
    assert typo.json()["detail"] == [
        "name: Input should be 'first_login', 'teammate_invited', 'integration_connected', 'key_action',"
        " 'support_ticket', 'survey_answer', 'email_engaged' or 'metric'"
    ]
    extra = post(http, f"/accounts/{account}/events", {"name": "key_action", "action": "export", "colour": "x"})
    assert extra.json()["detail"] == ["colour: Extra inputs are not permitted"]
    broken = post(http, f"/accounts/{account}/events", b"name=first_login")
    assert broken.status_code == 400
    assert broken.json()["detail"] == ["body: not valid JSON: Expecting value at line 1, column 1"]

    assert live.sh(f"python admin.py cancel {account} churned").returncode == 0
    deadline = time.monotonic() + 15
    while (ended := post(http, f"/accounts/{account}/events", {"name": "first_login"})).status_code == 202:
        assert time.monotonic() < deadline, "the cancelled run did not end"
        time.sleep(0.2)
    assert ended.status_code == 409
    assert ended.json() == {"detail": f"the onboarding for {account} has ended; it takes no more events"}


def test_the_openapi_schema_documents_bodies_and_signature_headers(http: TestClient) -> None:
    schema = http.get("/openapi.json").json()
    contracts = schema["paths"]["/contracts"]["post"]
    events = schema["paths"]["/accounts/{account_id}/events"]["post"]
    ref = "#/components/schemas/{}"
    assert contracts["requestBody"]["content"]["application/json"]["schema"] == {"$ref": ref.format("Contract")}
    assert events["requestBody"]["content"]["application/json"]["schema"] == {"$ref": ref.format("ProductEvent")}
    assert {"Contract", "Contact", "Handover", "ProductEvent", "Onboarding", "Accepted"} <= set(
        schema["components"]["schemas"]
    )
    assert {p["name"] for p in contracts["parameters"]} == {TIMESTAMP_HEADER, SIGNATURE_HEADER}
    assert set(contracts["responses"]) == {"200", "201", "400", "401", "413", "503"}
    assert set(events["responses"]) == {"202", "400", "401", "404", "409", "413", "503"}
    assert http.get("/docs").status_code == 200


def test_the_sendgrid_event_webhook_is_served_too(http: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDGRID_WEBHOOK_PUBLIC_KEY", raising=False)
    assert "/webhooks/sendgrid" in http.get("/openapi.json").json()["paths"]
    response = http.post("/webhooks/sendgrid", content=b"[]")
    assert response.status_code == 503
    assert response.json() == {"detail": "SENDGRID_WEBHOOK_PUBLIC_KEY is not set, so events cannot be verified"}


def test_starter_serve_runs_on_a_port_and_curl_can_call_it(live: LiveStack, tmp_path: Path) -> None:
    port = free_port()
    env = live.env | {"INTAKE_SECRET": SECRET}
    server = subprocess.Popen(
        [sys.executable, "starter.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not _answers(port):
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read() if server.stdout else ""
            time.sleep(0.1)
        signed = tmp_path / "contract.json"
        signed.write_text(json.dumps(contract()))
        curl = (
            f"curl -sS -w ' %{{http_code}}' -H 'Content-Type: application/json'"
            f" -H @<(python -m intake.signing {signed}) --data-binary @{signed} http://127.0.0.1:{port}/contracts"
        )
        result = subprocess.run(["bash", "-c", curl], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
        body, code = result.stdout.rsplit(" ", 1)
        assert code == "201", result.stdout + result.stderr
        assert json.loads(body)["outcome"] == "started"
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").json()["info"]["title"] == "Onboarding intake"
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=15)[0].decode()
    assert server.returncode == 130, output  # stopped as Ctrl-C stops it, after a graceful shutdown
    assert "Application shutdown complete" in output
    assert 'POST /contracts HTTP/1.1" 201' in output
    assert "brightpath" not in output.lower()  # no contact data in the logs


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_without_a_secret_refuses_to_start(live: LiveStack) -> None:
    result = subprocess.run(
        [sys.executable, "starter.py", "serve"], cwd=ROOT, env=live.env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr == "cannot serve: INTAKE_SECRET: expected the shared signing secret, at least 16 characters\n"
