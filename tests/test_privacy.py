"""Personal data and secrets, through a whole onboarding run as in production, logging at DEBUG.

Every process is real: the Temporal dev server (state in a file), `python worker.py` with
LOG_LEVEL=DEBUG, the intake (`python starter.py serve`) taking the CRM's contract and the
product's events, `python starter.py` and `python admin.py` for the CSM's actions (each naming
who acted), SendGrid stood in on 127.0.0.1 with its Event Webhook posted back, PostgreSQL, and
payloads encrypted with the codec. Afterwards every log line is searched for the contacts' and
staff's names and addresses and for every secret the processes held; the search attributes of
every run are checked for personal data; and Temporal's own database file is searched for the
contacts' addresses, which the codec keeps out of it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.client import Client

from adapters import staff
from adapters.codec import new_key_entry
from adapters.db import HumanTask, Onboarding, OutboxEmail, TimelineEvent, engine, upgrade
from adapters.email.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from intake.signing import headers
from tests.conftest import contract
from tests.test_faults_server import PersistedServer
from tests.test_scale_out import FAST, STAFF, free_port, until
from workflows import attributes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ROOT = Path(__file__).resolve().parent.parent

SECRETS = {
    "SENDGRID_API_KEY": "SG.privacy-test-key-abcdefgh.ijklmnopqrstuvwxyz012345",
    "INTAKE_SECRET": "intake-secret-that-never-appears-0123456789",
    "EMAIL_LINK_SECRET": "link-secret-that-never-appears-0123456789",
    "TEMPORAL_API_KEY": "temporal-api-key-that-never-appears-0123456789",
}
SMB = contract("smb")
PEOPLE = [*SMB["contacts"], SMB["sales_rep"], *({"name": p.name, "email": p.email} for p in staff.load(STAFF).people)]
PERSONAL = sorted({person[f] for person in PEOPLE for f in ("name", "email")})


class SendGrid(ThreadingHTTPServer):
    """Takes every email (202, with a message id) and keeps what it took, for the Event Webhook."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Take)
        self.took: list[dict[str, Any]] = []
        self.authorizations: set[str] = set()


class _Take(BaseHTTPRequestHandler):
    server: SendGrid

    def do_POST(self) -> None:
        self.server.authorizations.add(self.headers.get("Authorization", ""))
        self.server.took.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.send_header("X-Message-Id", uuid.uuid4().hex[:16])
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Stack:
    """The processes of one production-like deployment on this machine, and where each one logs."""

    folder: Path
    env: dict[str, str]
    intake: str
    sendgrid: SendGrid
    webhook_key: ec.EllipticCurvePrivateKey
    database_url: str
    secrets: dict[str, str]
    encrypted: bool
    logs: list[Path] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, *args], cwd=ROOT, env=self.env | extra, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(proc)
        return proc

    def run(self, name: str, *args: str) -> str:
        """A command a person types; its stderr is a log like any other, its stdout is its answer."""
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        (log := self.folder / f"{name}.stderr.log").write_text(result.stderr)
        self.logs.append(log)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        raw = json.dumps(body).encode()
        sent = headers(SECRETS["INTAKE_SECRET"], raw) | {"Content-Type": "application/json"}
        return httpx.post(self.intake + path, content=raw, headers=sent, timeout=30)

    def deliver_events(self, kind: str, template: str) -> None:
        """SendGrid's Event Webhook: `kind` events for every email of this template it took."""
        events = [
            {
                "email": mail["personalizations"][0]["to"][0]["email"],
                "timestamp": int(time.time()),
                "event": kind,
                "sg_event_id": uuid.uuid4().hex,
                "sg_message_id": f"{uuid.uuid4().hex[:16]}.filter",
                **mail["custom_args"],
            }
            for mail in self.sendgrid.took
            if mail["categories"][1] == template
        ]
        body = json.dumps(events).encode()
        stamp = str(int(time.time()))
        signature = self.webhook_key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        sent = {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: stamp}
        response = httpx.post(self.intake + "/webhooks/sendgrid", content=body, headers=sent, timeout=30)
        assert response.status_code == 204, response.text

    def count(self, query: Any) -> int:
        with Session(engine(self.database_url)) as db:
            return int(db.exec(query).one())


@pytest.fixture(params=["codec on", "codec off"])
def stack(request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str) -> Iterator[tuple[Stack, PersistedServer]]:
    server = PersistedServer(free_port(), tmp_path / "temporal.db", tmp_path / "temporal.log")
    server.start()
    sendgrid = SendGrid()
    threading.Thread(target=sendgrid.serve_forever, daemon=True).start()
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    intake_port = free_port()
    keys = new_key_entry("2026-07")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "INTAKE_", "SENDGRID_", "WORKER_"))}
    env = (
        base
        | SECRETS
        | {
            "TEMPORAL_ADDRESS": f"127.0.0.1:{server.port}",
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TLS": "false",  # the dev server has no TLS; the API key still travels with every call
            "PAYLOAD_ENCRYPTION_KEYS": keys if request.param == "codec on" else "",  # off: the local default
            "DATABASE_URL": postgres_url,
            "OUTBOX_DIR": str(tmp_path / "outbox"),
            "STAFF_FILE": str(STAFF),
            "EMAIL_BACKEND": "sendgrid",
            "SENDGRID_HOST": f"http://127.0.0.1:{sendgrid.server_address[1]}",
            "SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(public).decode(),
            "INTAKE_PORT": str(intake_port),
            "CSM_ID": "csm-ana",
            "PYTHONUNBUFFERED": "1",
        }
    )
    upgrade(postgres_url)
    held = SECRETS | {"PAYLOAD_ENCRYPTION_KEYS": keys.split(":", 1)[1]}
    url = f"http://127.0.0.1:{intake_port}"
    deployment = Stack(tmp_path, env, url, sendgrid, key, postgres_url, held, encrypted=request.param == "codec on")
    try:
        yield deployment, server
    finally:
        for proc in deployment.processes:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        sendgrid.shutdown()
        sendgrid.server_close()
        if server.proc and server.proc.poll() is None:
            server.stop()
        engine(postgres_url).dispose()


async def test_a_whole_onboarding_logged_at_debug_leaks_no_personal_data_or_secret(
    stack: tuple[Stack, PersistedServer],
) -> None:
    deployment, server = stack
    worker = deployment.spawn("worker", "worker.py", LOG_LEVEL="DEBUG")
    intake = deployment.spawn("intake", "starter.py", "serve")
    await until("the worker polls", lambda: "worker polling" in (deployment.folder / "worker.log").read_text(), 90)
    await until("the intake answers", lambda: _answers(deployment.intake), 60)

    # The CRM signs one contract (the SMB playbook); sales start another on the compressed playbook.
    crm_account, fast_account = f"crm-{uuid.uuid4().hex[:8]}", f"fast-{uuid.uuid4().hex[:8]}"
    assert deployment.post("/contracts", contract("smb", account_id=crm_account)).status_code == 201
    signed = deployment.folder / "contract.json"
    signed.write_text(json.dumps(contract("smb", account_id=fast_account)))
    deployment.run("starter", "starter.py", str(signed), "--playbook", str(FAST))

    # Nobody logs in: nudged, then escalated; the CSM resolves it, the customer logs in and opens mail.
    escalated = select(func.count()).select_from(HumanTask).where(HumanTask.account_id == fast_account)
    await until("the escalation", lambda: deployment.count(escalated) == 1, 90)
    deployment.run("resolve", "admin.py", "resolve", fast_account, "no_login_escalation.1", "--note", "called Priya")
    assert deployment.post(f"/accounts/{fast_account}/events", {"name": "first_login", "id": "e1"}).status_code == 202
    assert deployment.post(f"/accounts/{crm_account}/events", {"name": "first_login", "id": "e2"}).status_code == 202
    deployment.deliver_events("processed", "welcome")
    deployment.deliver_events("open", "welcome")
    validating = (
        select(func.count())
        .select_from(Onboarding)
        .where(Onboarding.account_id == fast_account, Onboarding.phase == "success_validation")
    )
    await until("the success check", lambda: deployment.count(validating) == 1, 90)
    deployment.run("criteria", "admin.py", "criteria-met", fast_account, "--evidence", "Priya's team books online")
    done = select(func.count()).select_from(Onboarding).where(Onboarding.status == "completed")
    await until("the onboarding completes", lambda: deployment.count(done) == 1, 90)
    completion = select(func.count()).select_from(OutboxEmail).where(OutboxEmail.template == "onboarding_complete")
    await until("the completion email (its own lane)", lambda: deployment.count(completion) == 1, 90)
    deployment.run("status", "admin.py", "status", fast_account)
    deployment.run("timeline", "admin.py", "timeline", fast_account)
    assert worker.poll() is None and intake.poll() is None

    # It all happened, as the CSM's audit trail shows: every action names who took it.
    with Session(engine(deployment.database_url)) as db:
        actions = db.exec(select(TimelineEvent.name, TimelineEvent.actor).where(TimelineEvent.kind == "action")).all()
        sent = db.exec(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.status == "sent")).one()
    assert sorted(actions) == [("resolve_escalation", "csm-ana"), ("success_criteria_met", "csm-ana")]
    assert sent >= 7 and deployment.sendgrid.authorizations == {f"Bearer {SECRETS['SENDGRID_API_KEY']}"}

    # Search attributes, the values ops filter on and Temporal indexes in the clear, hold nothing personal.
    client = await Client.connect(f"127.0.0.1:{server.port}")
    for account in (crm_account, fast_account):
        described = await client.get_workflow_handle(f"onboarding-{account}").describe()
        indexed = described.raw_description.workflow_execution_info.search_attributes.indexed_fields
        assert {name: [p for p in PERSONAL if p.encode() in value.data] for name, value in indexed.items()} == {
            name: [] for name in indexed
        }
        typed = {pair.key.name: pair.value for pair in described.typed_search_attributes}
        assert typed[attributes.SEGMENT.name] == "smb" and typed[attributes.HEALTH.name] in ("green", "yellow", "red")
        assert typed[attributes.OWNER.name] in {p.id for p in staff.load(STAFF).people}  # a staff id, not a name

    # Stop everything so every log is complete, then read every line of every log.
    for proc in deployment.processes:
        proc.terminate()
        proc.wait(timeout=30)
    server.stop()
    deployment.logs.append(server.log)
    lines = [(log.name, line) for log in deployment.logs for line in log.read_text(errors="replace").splitlines()]
    assert sum(name == "worker.log" and '"level": "DEBUG"' in line for name, line in lines) > 20, "DEBUG was on"
    leaks = [
        (name, what, line[:200])
        for name, line in lines
        for what, value in [*((p, p) for p in PERSONAL), *deployment.secrets.items()]
        if value in line
    ]
    assert leaks == []

    # Temporal's own database, at rest: the codec keeps every contact's address out of it (without
    # it, there they are: the reason the compose stack turns it on).
    stored = b"".join(f.read_bytes() for f in server.db_file.parent.glob(f"{server.db_file.name}*"))  # and its WAL
    assert f"onboarding-{fast_account}".encode() in stored  # the file is searchable as it is
    at_rest = [c["email"] for c in SMB["contacts"] if c["email"].encode() in stored]
    assert at_rest == ([] if deployment.encrypted else [c["email"] for c in SMB["contacts"]])


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
