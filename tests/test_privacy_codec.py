"""Payloads encrypted at rest: the AES-GCM codec, key rotation, and the codec server ops read runs through.

The codec is checked on its own (round trip, rotation, tampering, configuration), then through
a real onboarding (what Temporal stores holds no contact's name or address, and the history
records only ciphertext), then the codec server over HTTP with the stock `temporal` CLI.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

import connection
import starter
from adapters.codec import ENCODING, KEY_ID, CodecConfigError, EncryptionCodec, Keyring, UndecodablePayload
from adapters.config import Settings
from intake.codec_server import COOKIE, CodecServerConfigError, CodecSettings
from onboarding.messages import ModuleCompleted, ProductEvent
from service import send
from tests.conftest import contract
from tests.live_stack import free_port
from tests.test_scale_out import dev_server_running
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow as W

ROOT = Path(__file__).resolve().parent.parent
OLD_KEY, NEW_KEY = bytes(range(32)), bytes(range(32, 64))
SMB = contract("smb")
PERSONAL = [  # what Temporal must never store in the clear: every contact's and the sales rep's name and address
    *(person[field] for person in (*SMB["contacts"], SMB["sales_rep"]) for field in ("name", "email"))
]
UI_ORIGIN = "http://127.0.0.1:18233"
TOKEN = "codec-token-for-tests-0123456789"


def entry(key_id: str, key: bytes) -> str:
    return f"{key_id}:{base64.b64encode(key).decode()}"


def codec(*entries: str) -> EncryptionCodec:
    return EncryptionCodec(Keyring.parse(",".join(entries)))


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


# ---- the codec --------------------------------------------------------------------------------


async def test_a_payload_is_sealed_under_the_current_key_and_names_it() -> None:
    ring = codec(entry("2026-07", NEW_KEY), entry("2026-01", OLD_KEY))
    original = plain("priya.nair@brightpath.example")
    [first, second] = await ring.encode([original, original])

    assert first.metadata == {"encoding": ENCODING, KEY_ID: b"2026-07"}
    assert b"brightpath" not in first.data and b"json/plain" not in first.data
    assert first.data != second.data  # a fresh nonce each time: equal inputs do not look equal
    assert await ring.decode([first, second]) == [original, original]


async def test_rotation_new_payloads_use_the_new_key_and_old_ones_still_decode() -> None:
    before = codec(entry("2026-01", OLD_KEY))
    [sealed_long_ago] = await before.encode([plain("Priya Nair")])

    rotated = codec(entry("2026-07", NEW_KEY), entry("2026-01", OLD_KEY))
    assert await rotated.decode([sealed_long_ago]) == [plain("Priya Nair")]
    [sealed_now] = await rotated.encode([plain("Priya Nair")])
    assert sealed_now.metadata[KEY_ID] == b"2026-07"

    retired = codec(entry("2026-07", NEW_KEY))  # the old key dropped too early
    with pytest.raises(UndecodablePayload) as info:
        await retired.decode([sealed_long_ago])
    assert str(info.value) == (
        "payload encrypted with key id '2026-01', which PAYLOAD_ENCRYPTION_KEYS does not list (it lists: 2026-07)"
    )


async def test_a_tampered_payload_or_a_wrong_key_is_refused_not_garbled() -> None:
    ring = codec(entry("k1", OLD_KEY))
    [sealed] = await ring.encode([plain("Priya Nair")])
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    moved = Payload(metadata={"encoding": ENCODING, KEY_ID: b"k2"}, data=sealed.data)
    impostor = codec(entry("k1", NEW_KEY))

    for ring_used, payload in ((ring, flipped), (codec(entry("k2", OLD_KEY)), moved), (impostor, sealed)):
        with pytest.raises(UndecodablePayload, match="does not decrypt: the key differs or the payload was altered"):
            await ring_used.decode([payload])


async def test_plain_payloads_still_decode_so_turning_encryption_on_strands_no_run() -> None:
    assert await codec(entry("k1", OLD_KEY)).decode([plain("hello")]) == [plain("hello")]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (" , ", "PAYLOAD_ENCRYPTION_KEYS: expected one or more ID:BASE64KEY entries, comma-separated"),
        ("just-a-key", "PAYLOAD_ENCRYPTION_KEYS: entry 1: expected ID:BASE64KEY with an ID of letters"),
        (f"bad id:{base64.b64encode(OLD_KEY).decode()}", "entry 1: expected ID:BASE64KEY"),
        ("k1:not*base64", "PAYLOAD_ENCRYPTION_KEYS: entry 1 (k1): the key is not valid base64"),
        (f"k1:{base64.b64encode(OLD_KEY[:16]).decode()}", "entry 1 (k1): expected a 256-bit key (32 bytes), got 16"),
        (f"{entry('k1', OLD_KEY)},{entry('k1', NEW_KEY)}", "PAYLOAD_ENCRYPTION_KEYS: entry 2: key id 'k1' is listed"),
    ],
)
def test_unusable_keys_are_refused_naming_the_entry_never_echoing_a_key(raw: str, message: str) -> None:
    with pytest.raises(CodecConfigError) as info:
        Keyring.from_env({"PAYLOAD_ENCRYPTION_KEYS": raw})
    assert message in str(info.value)
    assert base64.b64encode(OLD_KEY).decode() not in str(info.value)
    assert base64.b64encode(NEW_KEY).decode() not in str(info.value)


def test_encryption_is_off_by_default_and_on_when_keys_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYLOAD_ENCRYPTION_KEYS", raising=False)
    assert connection.data_converter() is pydantic_data_converter
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEYS", entry("k1", OLD_KEY))
    converter = connection.data_converter()
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class


def test_the_new_key_command_prints_an_entry_the_keyring_accepts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adapters.codec", "new-key", "2026-07"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ring = Keyring.parse(result.stdout.strip())
    assert ring.current == "2026-07" and len(ring.keys["2026-07"]) == 32
    assert "2026-07" in repr(ring) and result.stdout.split(":")[1].strip() not in repr(ring)


# ---- through a real onboarding ------------------------------------------------------------------


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload anywhere inside a protobuf message, with the field path that leads to it."""
    if isinstance(message, Payload):
        yield path, message
        return
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = [(f"{path}.{descriptor.name}[{k}]", v) for k, v in value.items() if isinstance(v, Message)]
        elif descriptor.is_repeated:
            items = [(f"{path}.{descriptor.name}[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(f"{path}.{descriptor.name}", value)]
        for where, item in items:
            yield from payloads_in(item, where)


# Plain by design: search attributes (the server indexes them; they hold no personal data, see
# test_privacy.py) and the SDK's own bookkeeping in markers (sequence numbers, patch ids).
NEVER_ENCODED = (
    "search_attributes.indexed_fields[",
    "marker_recorded_event_attributes.details[data]",
    "marker_recorded_event_attributes.details[patch-data]",
)


def with_converter(client: Client, encrypted: bool) -> Client:
    config = client.config()
    config["data_converter"] = connection.data_converter() if encrypted else pydantic_data_converter
    return Client(**config)


async def onboard_and_act(env: WorkflowEnvironment, client: Client, task_queue: str) -> str:
    """An SMB onboarding with a product event, a CSM action and a refused one; returns its workflow id."""
    now = await env.get_current_time()
    signed = starter.parse_contract(json.dumps(contract("smb", account_id=f"sealed-{uuid.uuid4().hex[:8]}")), now)
    handle = await starter.start(client, signed, task_queue=task_queue)
    await send.signal(handle, ProductEvent(name="first_login"))
    status = await send.act(handle, ModuleCompleted(module="quick_start", by="csm-leo"))
    assert status.company == "BrightPath Dental"  # the holder of the keys reads everything
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await send.act(handle, ModuleCompleted(module="quick_start"))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.message == "module 'quick_start' is already completed"
    for _ in range(100):  # until the welcome email's activity has completed and the run sleeps
        kinds = [e.event_type async for e in handle.fetch_history_events()]
        if kinds.count(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) >= 3:
            break
        await asyncio.sleep(0.1)
    return handle.id


@pytest.mark.parametrize("encrypted", [True, False], ids=["codec on", "codec off"])
async def test_temporal_stores_no_contact_data_once_the_codec_is_on(
    env: WorkflowEnvironment, settings: Settings, monkeypatch: pytest.MonkeyPatch, encrypted: bool
) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEYS", entry("2026-07", NEW_KEY))
    client = with_converter(env.client, encrypted)
    queue = f"sealed-{uuid.uuid4()}"
    async with build_worker(client, queue):
        workflow_id = await onboard_and_act(env, client, queue)

    raw = with_converter(env.client, encrypted=False)  # what anyone reading Temporal's store sees
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    found = [(where, p) for event in history.events for where, p in payloads_in(event)]
    payloads = [p for where, p in found if not any(part in where for part in NEVER_ENCODED)]
    stored = b"".join(event.SerializeToString() for event in history.events)
    leaked = [value for value in PERSONAL if value.encode() in stored]
    if not encrypted:  # the control: without the codec the same scan finds the contacts
        assert leaked == PERSONAL
        return
    assert leaked == []
    assert len(payloads) > 10  # contract, playbook, activity arguments and results, signal, updates, summaries
    assert {(p.metadata["encoding"], p.metadata[KEY_ID]) for p in payloads} == {(ENCODING, b"2026-07")}
    assert b"already completed" not in stored  # even a refused update's reason is sealed


# ---- the codec server --------------------------------------------------------------------------


@pytest.fixture
def codec_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {
        "PAYLOAD_ENCRYPTION_KEYS": f"{entry('2026-07', NEW_KEY)},{entry('2026-01', OLD_KEY)}",
        "CODEC_UI_ORIGIN": UI_ORIGIN,
        "CODEC_TOKEN": TOKEN,
        "CODEC_PORT": str(free_port()),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def codec_server(codec_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`python -m intake.codec_server` on a free port; its base URL."""
    log = tmp_path / "codec.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "intake.codec_server"],
            cwd=ROOT,
            env=os.environ | codec_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{codec_env['CODEC_PORT']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    text = log.read_text()
    assert TOKEN not in text and "brightpath" not in text.lower()  # no token, no payload in its log


def wire(payloads: list[Payload]) -> dict[str, Any]:
    """The body the Temporal UI posts: metadata values and data in base64."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


async def sealed_sample() -> list[Payload]:
    return await codec(entry("2026-01", OLD_KEY)).encode([plain("Priya Nair")])


async def test_the_codec_server_decodes_only_for_the_ui_origin_with_the_token(codec_server: str) -> None:
    body = wire(await sealed_sample())
    decode = codec_server + "/decode"
    ui = {"Origin": UI_ORIGIN, "X-Namespace": "default"}
    async with httpx.AsyncClient(timeout=10) as http:
        preflight = await http.options(
            decode,
            headers={
                **ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        evil_preflight = await http.options(decode, headers={"Origin": "http://evil.example"})
        answers = {
            "the UI with the token": await http.post(
                decode, json=body, headers={**ui, "Authorization": f"Bearer {TOKEN}"}
            ),
            "no token": await http.post(decode, json=body, headers=ui),
            "wrong token": await http.post(decode, json=body, headers={**ui, "Authorization": "Bearer guess"}),
            "another origin": await http.post(
                decode, json=body, headers={"Origin": "http://evil.example", "Authorization": f"Bearer {TOKEN}"}
            ),
            "no origin": await http.post(decode, json=body, headers={"Authorization": f"Bearer {TOKEN}"}),
        }

    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == UI_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert {"authorization", "content-type", "x-namespace"} <= {
        h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")
    }
    assert evil_preflight.status_code == 403 and "access-control-allow-origin" not in evil_preflight.headers
    assert {name: r.status_code for name, r in answers.items()} == {
        "the UI with the token": 200,
        "no token": 401,
        "wrong token": 401,
        "another origin": 403,
        "no origin": 403,
    }
    [decoded] = answers["the UI with the token"].json()["payloads"]
    assert base64.b64decode(decoded["data"]) == b'"Priya Nair"'
    assert answers["the UI with the token"].headers["access-control-allow-origin"] == UI_ORIGIN
    assert "access-control-allow-origin" not in answers["another origin"].headers
    assert answers["another origin"].json() == {
        "detail": f"Origin: only the Temporal UI at {UI_ORIGIN} may call the codec server"
    }
    assert "Priya" not in answers["no token"].text


async def test_ops_sign_in_once_and_the_ui_decodes_with_the_cookie(codec_server: str) -> None:
    body = wire(await sealed_sample())
    async with httpx.AsyncClient(timeout=10) as http:
        page = await http.get(codec_server + "/")
        wrong = await http.post(codec_server + "/session", data={"token": "not-it"})
        right = await http.post(codec_server + "/session", data={"token": TOKEN})
        cookie = right.cookies.get(COOKIE)
        with_cookie = await http.post(
            codec_server + "/decode", json=body, headers={"Origin": UI_ORIGIN, "Cookie": f"{COOKIE}={cookie}"}
        )

    assert page.status_code == 200 and 'name="token"' in page.text and UI_ORIGIN in page.text
    assert wrong.status_code == 401 and "That is not the codec token." in wrong.text
    assert (right.status_code, right.headers["location"]) == (303, UI_ORIGIN)
    set_cookie = right.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie and "max-age=43200" in set_cookie
    assert with_cookie.status_code == 200
    assert base64.b64decode(with_cookie.json()["payloads"][0]["data"]) == b'"Priya Nair"'


async def test_the_codec_server_names_what_it_cannot_decode(codec_server: str) -> None:
    foreign = await codec(entry("2025-01", OLD_KEY)).encode([plain("x")])
    headers = {"Origin": UI_ORIGIN, "Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(timeout=10) as http:
        unknown = await http.post(codec_server + "/decode", json=wire(foreign), headers=headers)
        garbage = await http.post(codec_server + "/decode", content=b"payloads please", headers=headers)
    assert unknown.status_code == 400
    assert unknown.json()["detail"].startswith("payload encrypted with key id '2025-01', which PAYLOAD_ENCRYPTION_KEYS")
    assert garbage.status_code == 400
    assert garbage.json() == {"detail": 'body: expected {"payloads": [{"metadata": {...}, "data": "<base64>"}]}'}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CODEC_UI_ORIGIN": "localhost:8080"}, "CODEC_UI_ORIGIN: expected the Temporal UI's origin"),
        ({"CODEC_UI_ORIGIN": "http://localhost:8080/ui"}, "CODEC_UI_ORIGIN: expected the Temporal UI's origin"),
        ({"CODEC_TOKEN": "short"}, "CODEC_TOKEN: expected a secret of at least 24 characters"),
        ({"PAYLOAD_ENCRYPTION_KEYS": ""}, "PAYLOAD_ENCRYPTION_KEYS: expected the workers' keys"),
        ({"PAYLOAD_ENCRYPTION_KEYS": "k1:YWJj"}, "PAYLOAD_ENCRYPTION_KEYS: entry 1 (k1): expected a 256-bit key"),
    ],
)
def test_the_codec_server_refuses_to_start_misconfigured(
    codec_env: dict[str, str], change: dict[str, str], message: str
) -> None:
    with pytest.raises(CodecServerConfigError, match=re.escape(message)):
        CodecSettings.from_env(codec_env | change)


def test_the_codec_server_command_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEC_", "PAYLOAD_"))}
    result = subprocess.run(
        [sys.executable, "-m", "intake.codec_server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("cannot serve: CODEC_UI_ORIGIN: expected the Temporal UI's origin")


# ---- the stock temporal CLI through the codec server, on a real dev server -----------------------


@pytest_asyncio.fixture
async def sealed_run(tmp_path: Path, settings: Settings, codec_env: dict[str, str]) -> AsyncIterator[tuple[str, str]]:
    """A dev server with one onboarding started and run under encryption; (address, workflow id)."""
    with dev_server_running(tmp_path) as address:
        client = await Client.connect(address, data_converter=connection.data_converter())
        queue = f"sealed-{uuid.uuid4()}"
        async with build_worker(client, queue):
            signed = starter.parse_contract(json.dumps(contract("smb", account_id=f"cli-{uuid.uuid4().hex[:8]}")))
            handle = await starter.start(client, signed, task_queue=queue)
            await send.signal(handle, ProductEvent(name="first_login"))
            assert (await handle.query(W.get_status)).company == "BrightPath Dental"
            yield address, handle.id
            await handle.terminate("test over")


async def test_ops_read_an_encrypted_run_with_the_temporal_cli_through_the_codec_server(
    sealed_run: tuple[str, str], codec_server: str
) -> None:
    address, workflow_id = sealed_run
    show = [connection.binary("temporal"), "workflow", "show", "-w", workflow_id, "--address", address, "-o", "json"]
    through_codec = ["--codec-endpoint", codec_server, "--codec-auth", f"Bearer {TOKEN}"]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*show, *extra], capture_output=True, text=True, timeout=60)

    sealed = payload_texts(run().stdout)
    readable = payload_texts(run(*through_codec, "--codec-header", f"Origin={UI_ORIGIN}").stdout)
    not_from_the_ui = run(*through_codec)

    assert sealed and readable
    # The SDK writes a patch marker's id ({"id": "records-in-one-batch", ...}) itself, in plain JSON:
    # a name in the code, never the customer's data. Everything else is sealed.
    plain = [text for encoding, text in sealed if encoding == "json/plain"]
    assert all(json.loads(text).keys() == {"id", "deprecated"} for text in plain), plain
    assert "json/plain" not in {e for e, t in sealed if e != "search attribute" and t not in plain}
    assert not [text for _, text in sealed if "BrightPath" in text]
    assert not_from_the_ui.returncode == 1 and "BrightPath" not in not_from_the_ui.stdout  # the codec refused
    decoded = " ".join(text for _, text in readable)
    assert "BrightPath Dental" in decoded and SMB["contacts"][0]["email"] in decoded


def payload_texts(history_json: str) -> list[tuple[str, str]]:
    """(encoding, data) of every payload in the CLI's JSON history, base64 undone."""
    found: list[tuple[str, str]] = []

    def walk(node: Any, in_search_attributes: bool = False) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metadata"), dict) and "data" in node:
                encoding = base64.b64decode(node["metadata"].get("encoding", "")).decode("utf-8", "replace")
                data = base64.b64decode(node["data"]).decode("utf-8", "replace")
                found.append(("search attribute" if in_search_attributes else encoding, data))
                return
            for key, value in node.items():
                walk(value, in_search_attributes or key == "searchAttributes")
        elif isinstance(node, list):
            for item in node:
                walk(item, in_search_attributes)

    walk(json.loads(history_json))
    return found
