"""Bad input, refused clearly and completely: one table over every edge where people and systems
hand the engine data, each row checked for a specific message and for leaving nothing behind.

The edges, as their users reach them: contract files (`python starter.py FILE`) and the CRM's
signed webhook (`POST /contracts`), product events (`POST /accounts/{id}/events`), CSM actions
(`python admin.py ...`), playbooks (`python starter.py --playbook`), simulator scenarios
(`python admin.py simulate --scenario`), email templates (a variable the touch does not provide)
and request signatures (ours and SendGrid's). Everything runs for real: the time-skipping
Temporal server with the worker, the intake app, the admin script, a SQLite database and the
outbox. After each refusal the test compares everything a mistake could have left: workflows,
their histories, every table's rows and the outbox's .eml files.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import io
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType as ET
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import admin
import starter
from adapters.config import TASK_QUEUE, Settings
from adapters.db import (
    Account,
    HumanTask,
    Onboarding,
    OutboxEmail,
    Suppression,
    TimelineEvent,
    WebhookEvent,
    engine,
    upgrade,
)
from adapters.email import webhook
from connection import binary, register_search_attributes
from intake.app import IntakeSettings, create_app
from intake.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, headers
from onboarding import playbook
from onboarding.messages import Action, Cancel, KickoffDone, Pause, SuccessCriteriaMet
from service import send
from tests.conftest import contract
from tests.test_playbook import CASES as PLAYBOOK_RULES
from worker import build_worker
from workflows.onboarding import OnboardingWorkflow as W

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bad-input-intake-secret-0123456789"
MAX_BODY = 16384
SMB_PLAYBOOK = yaml.safe_load((ROOT / "playbooks" / "smb.yaml").read_text())
BOOKKEEPING = {
    ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    ET.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
}
TABLES = (Account, Onboarding, TimelineEvent, HumanTask, OutboxEmail, Suppression, WebhookEvent)


# ---- the world the bad input lands in ----------------------------------------------------------


@dataclass
class World:
    """One time-skipping server, worker, intake, database and outbox for the whole table. Each
    edge uses accounts of its own and compares the state just before and just after its input."""

    env: WorkflowEnvironment
    settings: Settings
    queue: str
    intake: httpx.AsyncClient
    folder: Path
    sendgrid_key: ec.EllipticCurvePrivateKey
    watched: set[str] = field(default_factory=set)

    def new_account(self) -> str:
        """An account id nothing has used yet, watched so a workflow started for it would be seen."""
        account = f"bad-{uuid.uuid4().hex[:10]}"
        self.watched.add(f"onboarding-{account}")
        return account

    async def onboarding(self, segment: str = "smb", plan: playbook.Playbook | None = None) -> str:
        """A new onboarding, settled (welcome sent, first phase recorded); its account id."""
        account = self.new_account()
        now = await self.env.get_current_time()
        signed = starter.parse_contract(json.dumps(contract(segment, account_id=account)), now)
        await starter.start(self.env.client, signed, plan, task_queue=self.queue)
        await self.settled(account)
        return account

    def handle(self, account: str) -> WorkflowHandle[W, Any]:
        return self.env.client.get_workflow_handle_for(W.run, f"onboarding-{account}")

    async def settled(self, account: str) -> None:
        """Until no activity or workflow task of the onboarding's current run is in flight."""
        seen = -1
        for _ in range(400):
            kinds = [e.event_type async for e in self.handle(account).fetch_history_events()]
            count = kinds.count
            activities_done = count(ET.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) + count(ET.EVENT_TYPE_ACTIVITY_TASK_FAILED)
            idle = count(ET.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == activities_done and count(
                ET.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
            ) == count(ET.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
            if idle and len(kinds) == seen:
                return
            seen = len(kinds)
            await asyncio.sleep(0.05)
        raise AssertionError(f"{account} did not settle")

    async def stop_strays(self, before: dict[str, Any]) -> None:
        """Stop what a wrongly accepted input started, once it is quiet, so later edges meet a quiet
        server (the time-skipping server cannot skip time past an activity still in flight)."""
        for workflow_id, history in before["workflows"].items():
            if history is None:
                with contextlib.suppress(RPCError):
                    await self.settled(workflow_id.removeprefix("onboarding-"))
                    await self.env.client.get_workflow_handle(workflow_id).terminate("accepted bad input")

    async def snapshot(self, skip: str | None = None) -> dict[str, Any]:
        """Everything a refused input could have left behind (but `skip`'s own history)."""
        with Session(engine(self.settings.database_url)) as db:
            rows = {table.__name__: db.exec(select(func.count()).select_from(table)).one() for table in TABLES}
        emails = sorted(p.name for p in self.settings.outbox_dir.glob("*.eml"))
        workflows: dict[str, list[int] | None] = {}
        for workflow_id in sorted(self.watched - {f"onboarding-{skip}"}):
            try:
                workflows[workflow_id] = [
                    e.event_type
                    async for e in self.env.client.get_workflow_handle(workflow_id).fetch_history_events()
                    if e.event_type not in BOOKKEEPING
                ]
            except RPCError as e:
                assert e.status == RPCStatusCode.NOT_FOUND, e
                workflows[workflow_id] = None
        return {"rows": rows, "emails": emails, "workflows": workflows}


@pytest.fixture(scope="module")
def world_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ec.EllipticCurvePrivateKey]]:
    """The environment every edge reads: a private database and outbox, the webhook's public key."""
    folder = tmp_path_factory.mktemp("bad-input")
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n.startswith(("TEMPORAL_", "INTAKE_", "SENDGRID_", "PAYLOAD_"))]:
            mp.delenv(name)
        mp.setenv("DATABASE_URL", f"sqlite:///{folder / 'onboarding.db'}")
        mp.setenv("OUTBOX_DIR", str(folder / "outbox"))
        mp.setenv("EMAIL_BACKEND", "outbox")
        mp.setenv("CSM_ID", "csm-leo")
        mp.setenv("SENDGRID_WEBHOOK_PUBLIC_KEY", base64.b64encode(public).decode())
        upgrade(Settings.from_env().database_url)
        yield folder, key


@pytest_asyncio.fixture(scope="module")
async def world(world_env: tuple[Path, ec.EllipticCurvePrivateKey]) -> AsyncIterator[World]:
    folder, key = world_env
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"), data_converter=pydantic_data_converter
    ) as env:
        await register_search_attributes(env.client)
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
            mp.setenv("TEMPORAL_NAMESPACE", "default")
            queue = TASK_QUEUE  # the queue the intake and the starter start onboardings on: a wrongly
            # accepted contract is run, not left with a workflow task nobody takes
            app = create_app(IntakeSettings(secret=SECRET, max_body=MAX_BODY, max_skew=300))
            app.state.client = env.client
            async with (
                build_worker(env.client, queue),
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as intake,
            ):
                yield World(env, Settings.from_env(), queue, intake, folder, key)


# ---- how each edge is reached, as its users reach it -------------------------------------------


def _starter(args: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = starter.main(args)
    return code, err.getvalue()


async def starter_refuses(args: list[str]) -> str:
    """`python starter.py ...`: exit 2, and what it printed after 'contract refused:'."""
    code, err = await asyncio.to_thread(_starter, args)
    assert code == 2, err
    assert err.startswith("contract refused:\n"), err
    return err.removeprefix("contract refused:\n").strip()


async def admin_refuses(args: list[str], code: int = 1) -> str:
    """`python admin.py ...`: the exit code and the sentence it printed (a usage error's, out of its box)."""
    result = await asyncio.to_thread(CliRunner().invoke, admin.app, args)
    assert result.exit_code == code, result.output
    boxed = [line.strip("│ ") for line in result.output.splitlines() if line.startswith("│")]
    return " ".join(boxed) if boxed else result.output.strip()


async def post(world: World, path: str, body: bytes, status: int, signed: dict[str, str] | None = None) -> str:
    """A request to the intake, signed with the shared secret unless `signed` says otherwise."""
    sent = headers(SECRET, body) if signed is None else signed
    response = await world.intake.post(path, content=body, headers=sent | {"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    return "\n".join(detail) if isinstance(detail, list) else str(detail)


Change = Callable[[dict[str, Any]], Any]


def contract_bytes(account: str, change: Change) -> bytes:
    """The SMB example contract for `account`, changed (a change may return other data, or raw bytes)."""
    data = contract("smb", account_id=account)
    changed = change(data)
    if isinstance(changed, bytes):
        return changed
    return json.dumps(data if changed is None else changed).encode()


# ---- the table -----------------------------------------------------------------------------------

Attempt = Callable[[World, str], Awaitable[str]]
Setup = Callable[[World], Awaitable[str]]


async def fresh_account(world: World) -> str:
    return world.new_account()


@dataclass(frozen=True)
class Edge:
    """One bad input: how it arrives, what its user is told, and the state it meets.

    `says` is the message whole, or its start when it ends with '...'; '{account}' stands for
    the edge's account. `history_moves`: the run's own history rightly records the attempt.
    """

    name: str
    attempt: Attempt
    says: str
    setup: Setup = fresh_account
    history_moves: bool = False
    marks: tuple[Any, ...] = ()


# -- contracts: files and the CRM's webhook, the same changes through both --


def _set(path: str, value: Any) -> Change:
    """data['contacts'][0]['email'] = value, for path 'contacts.0.email'; DELETE removes the field."""

    def change(data: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = data
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return change


DELETE = object()
FUTURE = (datetime.now(UTC) + timedelta(days=2)).isoformat()
CONTRACTS: list[tuple[str, Change, str, tuple[Any, ...]]] = [
    ("missing field", _set("company", DELETE), "company: Field required", ()),
    ("missing nested field", _set("contacts.0.email", DELETE), "contacts[0].email: Field required", ()),
    ("extra field", _set("discount", 10), "discount: Extra inputs are not permitted", ()),
    ("extra nested field", _set("contacts.0.phone", "+1 555"), "contacts[0].phone: Extra inputs are not permitted", ()),
    (
        "wrong type: words for a number",
        _set("employees", "many"),
        "employees: Input should be a valid integer, unable to parse string as an integer",
        (),
    ),
    ("wrong type: text for a list", _set("contacts", "priya"), "contacts: Input should be a valid list", ()),
    ("wrong type: a list for the contract", lambda d: [d], "Input should be a valid dictionary...", ()),
    ("negative ACV", _set("acv", -5), "acv: Input should be greater than 0", ()),
    ("zero ACV", _set("acv", 0), "acv: Input should be greater than 0", ()),
    ("absurd ACV", _set("acv", 10**12), "acv: Input should be less than or equal to 100000000", ()),
    (
        "ACV not a number",
        lambda d: json.dumps(d).replace('"acv": 4800', '"acv": NaN').encode(),
        "acv: Input should be a finite number",
        (),
    ),
    (
        "ACV as a flag",
        _set("acv", True),
        "acv: Decimal input should be an integer, float, string or Decimal object",
        (),
    ),
    (
        "malformed email",
        _set("contacts.0.email", "priya-at-brightpath"),
        "contacts[0].email: expected an email address like name@company.com",
        (),
    ),
    (
        "email with two @",
        _set("contacts.1.email", "tom@brightpath@example.com"),
        "contacts[1].email: expected an email address like name@company.com",
        (),
    ),
    (
        "email without a domain",
        _set("sales_rep.email", "jordan@localhost"),
        "sales_rep.email: expected an email address like name@company.com",
        (),
    ),
    (
        "huge email",
        _set("contacts.0.email", "p" * 250 + "@b.example"),
        "contacts[0].email: String should have at most 254 characters",
        (),
    ),
    ("unknown locale", _set("locale", "de"), "locale: Input should be 'en', 'ru' or 'ms'", ()),
    ("unknown segment", _set("segment", "startup"), "segment: Input should be 'smb', 'mid_market' or 'enterprise'", ()),
    ("huge company name", _set("company", "x" * 201), "company: String should have at most 200 characters", ()),
    (
        "huge notes",
        _set("handover.notes", "x" * 5001),
        "handover.notes: String should have at most 5000 characters",
        (),
    ),
    (
        "too many contacts",
        lambda d: d.update(contacts=[d["contacts"][0]] * 51),
        "contacts: List should have at most 50 items after validation, not 51",
        (),
    ),
    ("blank company name", _set("company", "   "), "company: String should have at least 1 character", ()),
    (
        "lone surrogate",
        _set("company", "Bright\ud800Path"),
        "company: Input should be a valid string, unable to parse raw data as a unicode string",
        (),
    ),
    (
        "control characters",
        _set("company", "Bright\x00Path\x1b[2J"),
        "company: contains a control character (U+0000); expected printable text",
        (),
    ),
    (
        "account id with capitals and spaces",
        _set("account_id", "BrightPath Dental"),
        "account_id: expected an account id like brightpath-dental: 2-63 lowercase letters, digits, - or _,"
        " got 'BrightPath Dental'",
        (),
    ),
    (
        "no champion",
        _set("contacts.0.role", "it_admin"),
        "contacts: expected one contact with role 'champion' (the onboarding owner)",
        (),
    ),
    ("unknown contact role", _set("contacts.1.role", "ceo"), "contacts[1].role: Input should be 'champion', ...", ()),
    (
        "no success criteria",
        _set("success_criteria", []),
        "success_criteria: List should have at least 1 item after validation, not 0",
        (),
    ),
    ("no staff", _set("employees", 0), "employees: Input should be greater than or equal to 1", ()),
    (
        "time zone missing",
        _set("signed_at", "2026-03-02T09:00:00"),
        "signed_at: expected a timestamp with a time zone, e.g. 2026-03-02T09:00:00Z",
        (),
    ),
    ("signed in the future", _set("signed_at", FUTURE), "signed_at: the contract cannot be signed in the future", ()),
    ("not JSON", lambda d: b"account_id=acme", "not valid JSON: Expecting value at line 1, column 1", ()),
    ("empty", lambda d: b"", "not valid JSON: Expecting value at line 1, column 1", ()),
]


def contract_file(change: Change) -> Attempt:
    async def attempt(world: World, account: str) -> str:
        path = world.folder / f"{account}.json"
        path.write_bytes(contract_bytes(account, change))
        return await starter_refuses([str(path)])

    return attempt


def contract_webhook(change: Change) -> Attempt:
    async def attempt(world: World, account: str) -> str:
        return await post(world, "/contracts", contract_bytes(account, change), 400)

    return attempt


CONTRACT_EDGES = [
    edge
    for name, change, says, marks in CONTRACTS
    for edge in (
        Edge(f"contract file: {name}", contract_file(change), says, marks=marks),
        Edge(f"contract webhook: {name}", contract_webhook(change), says, marks=marks),
    )
]


# -- product events: the product's signed webhook, and by hand --


async def onboarding(world: World) -> str:
    return await world.onboarding()


def product_event(body: Any, status: int = 400, account: str | None = None) -> Attempt:
    async def attempt(world: World, own: str) -> str:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await post(world, f"/accounts/{account or own}/events", raw, status)

    return attempt


EVENT_NAMES = (
    "'first_login', 'teammate_invited', 'integration_connected', 'key_action', 'support_ticket', 'survey_answer'"
    " or 'email_engaged'"
)
EVENT_EDGES = [
    Edge(
        "event: unknown name",
        product_event({"name": "first_logon"}),
        f"name: Input should be {EVENT_NAMES}",
        onboarding,
    ),
    Edge(
        "event: unknown account",
        product_event({"name": "first_login"}, 404, account="nobody-here"),
        "no onboarding for account 'nobody-here'",
    ),
    Edge(
        "event: extra field",
        product_event({"name": "first_login", "user": "priya"}),
        "user: Extra inputs are not permitted",
        onboarding,
    ),
    Edge(
        "event: wrong type",
        product_event({"name": "survey_answer", "goal_reached": "maybe"}),
        "goal_reached: Input should be a valid boolean, unable to interpret input",
        onboarding,
    ),
    Edge(
        "event: key action without its name",
        product_event({"name": "key_action"}),
        "action: a key_action event needs the action's name",
        onboarding,
    ),
    Edge(
        "event: survey without its answer",
        product_event({"name": "survey_answer", "csat": 4}),
        "goal_reached: a survey_answer event needs goal_reached (true or false)",
        onboarding,
    ),
    Edge(
        "event: survey scores on another event",
        product_event({"name": "first_login", "csat": 5}),
        "csat, ces and goal_reached belong to survey_answer events only",
        onboarding,
    ),
    Edge(
        "event: score out of range",
        product_event({"name": "survey_answer", "goal_reached": True, "csat": 9}),
        "csat: Input should be less than or equal to 5",
        onboarding,
    ),
    Edge(
        "event: time zone missing",
        product_event({"name": "first_login", "at": "2026-03-02T09:00:00"}),
        "at: expected a timestamp with a time zone, e.g. 2026-03-02T09:00:00Z",
        onboarding,
    ),
    Edge(
        "event: huge delivery id",
        product_event({"name": "first_login", "id": "x" * 201}),
        "id: String should have at most 200 characters",
        onboarding,
    ),
    Edge(
        "event: not JSON",
        product_event(b"name=first_login"),
        "body: not valid JSON: Expecting value at line 1, column 1",
        onboarding,
    ),
    Edge(
        "event by hand: unknown account",
        lambda world, _: admin_refuses(["event", "nobody-here", "first_login"]),
        "no onboarding for account 'nobody-here'; `python admin.py list --all` lists every account",
    ),
    Edge(
        "event by hand: unknown name",
        lambda world, account: admin_refuses(["event", account, "first_logon"], code=2),
        "Invalid value for 'NAME': 'first_logon' is not a product event; expected one of first_login, ...",
        onboarding,
    ),
]


# -- CSM actions: python admin.py <command> ACCOUNT ... --


def admin_does(*args: str, code: int = 1) -> Attempt:
    async def attempt(world: World, account: str) -> str:
        command, *rest = args
        return await admin_refuses([command, account, *rest], code)

    return attempt


def onboarding_after(*actions: Action, segment: str = "smb") -> Setup:
    """A settled onboarding after these updates: the state the refused action meets."""

    async def setup(world: World) -> str:
        account = await world.onboarding(segment)
        for action in actions:
            await send.act(world.handle(account), action)
        await world.settled(account)
        return account

    return setup


async def reassign_to_current_owner(world: World, account: str) -> str:
    owner = (await world.handle(account).query(W.get_status)).owner
    said = await admin_refuses(["reassign", account, owner])
    return said.replace(owner, "<owner>")


ACTION_EDGES = [
    Edge(
        "action: unknown module",
        admin_does("module-done", "advanced_reporting"),
        "{account}: refused: unknown module 'advanced_reporting'; this playbook's modules: quick_start,"
        " feature_highlights",
        onboarding,
    ),
    Edge(
        "action: a step that cannot be skipped",
        admin_does("skip", "log_in"),
        "{account}: refused: step 'log_in' cannot be skipped",
        onboarding,
    ),
    Edge(
        "action: unknown step",
        admin_does("step-done", "no_such_step"),
        "{account}: refused: unknown step 'no_such_step'; this playbook's steps: log_in, invite_team, ...",
        onboarding,
    ),
    Edge(
        "action: resume when not paused",
        admin_does("resume"),
        "{account}: refused: the onboarding is not paused",
        onboarding,
    ),
    Edge(
        "action: pause twice",
        admin_does("pause", "--reason", "again"),
        "{account}: refused: the onboarding is already paused; resume it first",
        onboarding_after(Pause(reason="Fiscal year-end freeze")),
    ),
    Edge(
        "action: pause until a past date",
        admin_does("pause", "--reason", "freeze", "--until", "2020-01-01"),
        "{account}: refused: until: expected a time in the future",
        onboarding,
    ),
    Edge(
        "action: kickoff recorded twice",
        admin_does("kickoff-done"),
        "{account}: refused: kickoff is already recorded as done (on ...",
        onboarding_after(KickoffDone(), segment="mid_market"),
    ),
    Edge(
        "action: wrong phase (the onboarding is complete)",
        admin_does("module-done", "quick_start"),
        "{account}: refused: the onboarding is already complete (since ...",
        onboarding_after(SuccessCriteriaMet(evidence="20 bookings online")),
    ),
    Edge(
        "action: cancel twice",
        admin_does("cancel", "duplicate"),
        "the onboarding for {account} has ended (cancelled); it takes no more actions or events",
        onboarding_after(Cancel(reason="churned")),
        marks=(
            pytest.mark.xfail(
                strict=True,
                reason="cli/calls.py gone() names Temporal's execution status: a cancelled onboarding's run "
                "returned normally, so the CSM reads 'has ended (completed)'",
            ),
        ),
    ),
    Edge(
        "action: resolve an escalation that is not open",
        admin_does("resolve", "no_login_7d.1"),
        "{account}: refused: no open escalation 'no_login_7d.1'; open: none",
        onboarding,
    ),
    Edge(
        "action: reassign to the current owner",
        reassign_to_current_owner,
        "{account}: refused: <owner> already owns this onboarding",
        onboarding,
    ),
    Edge(
        "action: reassign to nobody on the team",
        admin_does("reassign", "csm-nobody"),
        "{account}: refused: owner: no active CSM with id 'csm-nobody' in the staff roster",
        onboarding,
        history_moves=True,  # the staff lookup is an activity: the history records that it was tried
    ),
    Edge(
        "action: malformed email for an invitation",
        admin_does("invite", "invite_team", "--name", "Ana", "--email", "ana-at-customer", code=2),
        "email: expected an email address like name@company.com",
        onboarding,
    ),
    Edge(
        "action: unknown cancel reason",
        admin_does("cancel", "bored", code=2),
        "reason: Input should be 'churned', 'lost', 'duplicate', 'contract_void' or 'other'",
        onboarding,
    ),
    Edge(
        "action: nobody named as the actor",
        admin_does("resume", "--by", "", code=2),
        "by: String should have at least 1 character",
        onboarding,
    ),
    Edge(
        "action: unknown account",
        lambda world, _: admin_refuses(["resume", "nobody-here"]),
        "no onboarding for account 'nobody-here'; `python admin.py list --all` lists every account",
    ),
]


# -- playbooks: python starter.py CONTRACT --playbook FILE (every rule the validator has) --


def with_playbook(change: Callable[[dict[str, Any]], Any] | None, text: str | None = None) -> Attempt:
    """Start the edge's contract with the SMB playbook changed (or with `text` as the file, or no file)."""

    async def attempt(world: World, account: str) -> str:
        folder = world.folder / account
        folder.mkdir()
        path = folder / "smb.yaml"
        if change is not None:
            data = copy.deepcopy(SMB_PLAYBOOK)
            change(data)  # in place (test_playbook's changes return whatever their last call did)
            path.write_text(yaml.safe_dump(data))
        elif text is not None:
            path.write_text(text)
        signed = folder / "contract.json"
        signed.write_text(json.dumps(contract("smb", account_id=account)))
        said = await starter_refuses([str(signed), "--playbook", str(path)])
        return said.replace(str(path), "smb.yaml")

    return attempt


def _append_copy(*path: str | int) -> Callable[[dict[str, Any]], None]:
    """Append a copy of the list's first item: a duplicate id."""

    def change(data: dict[str, Any]) -> None:
        node: Any = data
        for part in path:
            node = node[part]
        node.append(copy.deepcopy(node[0]))

    return change


PLAYBOOK_EXTRA: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "unknown fact to end a phase",
        lambda d: d["phases"][1].update(exit_when=["nope"]),
        "smb.yaml: phases[1].exit_when: unknown fact 'nope'",
    ),
    (
        "unknown fact silencing a playbook-wide timer",
        lambda d: d["timers"][0].update(unless=["nope"]),
        "smb.yaml: timers[0].unless: unknown fact 'nope'",
    ),
    (
        "unknown fact silencing a phase timer",
        lambda d: d["phases"][1]["timers"][0].update(unless=["nope"]),
        "smb.yaml: phases[1].timers[0].unless: unknown fact 'nope'",
    ),
    ("duplicate module", _append_copy("modules"), "smb.yaml: modules: duplicate id(s): quick_start"),
    ("duplicate step", _append_copy("phases", 0, "steps"), "smb.yaml: phases[*].steps: duplicate id(s): log_in"),
    (
        "duplicate playbook-wide timer",
        _append_copy("timers"),
        "smb.yaml: timers: duplicate id(s): sales_handover_overdue",
    ),
    ("duplicate phase timer", _append_copy("phases", 0, "timers"), "smb.yaml: phases[0].timers: duplicate id(s): day1"),
    ("'times' without 'every'", lambda d: d["timers"][3].update(times=3), "smb.yaml: timers[3]: 'times' needs 'every'"),
    (
        "last check-in stage that stops",
        lambda d: d["check_ins"][2].update(times=5),
        "smb.yaml: check_ins[2].times: the last stage repeats until cancelled: leave out times",
    ),
    (
        "check-ins zero times",
        lambda d: d["check_ins"][0].update(times=0),
        "smb.yaml: check_ins[0].times: Input should be greater than or equal to 1",
    ),
    (
        "a timer repeating faster than a second",
        lambda d: d["phases"][0]["timers"][0].update(every="0.5s"),
        "smb.yaml: phases[0].timers[0].every: ",
    ),
    (
        "no phases",
        lambda d: d.update(phases=[]),
        "smb.yaml: phases: Tuple should have at least 1 item after validation, not 0",
    ),
    (
        "no check-ins",
        lambda d: d.update(check_ins=[]),
        "smb.yaml: check_ins: Tuple should have at least 1 item after validation, not 0",
    ),
    (
        "negative duration",
        lambda d: d["timers"][0].update(after="-1d"),
        "smb.yaml: timers[0].after: expected a duration like '24h', '3d' or '2w', got '-1d'",
    ),
    (
        "unknown segment",
        lambda d: d.update(segment="startup"),
        "smb.yaml: segment: Input should be 'smb', 'mid_market' or 'enterprise'",
    ),
]
PLAYBOOK_EDGES = (
    [Edge(f"playbook: {name}", with_playbook(change), f"{message}...") for name, change, message in PLAYBOOK_RULES]
    + [Edge(f"playbook: {name}", with_playbook(change), f"{message}...") for name, change, message in PLAYBOOK_EXTRA]
    + [
        Edge("playbook: not YAML", with_playbook(None, "phases: [unclosed"), "smb.yaml: not valid YAML: ..."),
        Edge("playbook: no such file", with_playbook(None), "smb.yaml: cannot read: No such file or directory"),
    ]
)


# -- scenarios: python admin.py simulate --scenario FILE --


def scenario(text: str) -> Attempt:
    async def attempt(world: World, account: str) -> str:
        path = world.folder / f"{account}.yaml"
        path.write_text(text)
        said = await admin_refuses(["simulate", "--scenario", str(path)], code=2)
        return said.replace(str(path), "scenario.yaml")

    return attempt


REFUSED_CONTRACT = json.dumps(contract("smb") | {"acv": -5})
SCENARIO_EDGES = [
    Edge(
        "scenario: unknown action",
        scenario("actions:\n  - {day: 1, action: frist_login}\n"),
        "scenario.yaml:2: actions[0].action: unknown action 'frist_login'; expected one of: first_login, ...",
    ),
    Edge(
        "scenario: negative day",
        scenario("segment: smb\nactions:\n  - {day: -1, action: first_login}\n"),
        "scenario.yaml:3: actions[0].day: Input should be greater than or equal to 0",
    ),
    Edge(
        "scenario: a day in words",
        scenario("segment: smb\nactions:\n  - {day: soon, action: first_login}\n"),
        "scenario.yaml:3: actions[0].day: Input should be a valid number",
    ),
    Edge(
        "scenario: a misspelt argument",
        scenario("segment: smb\nactions:\n  - {day: 1, action: module_completed, args: {modul: quick_start}}\n"),
        "scenario.yaml:3: actions[0].args.module: Field required\n"
        "scenario.yaml:3: actions[0].args.modul: Extra inputs are not permitted",
    ),
    Edge(
        "scenario: an event without its argument",
        scenario("segment: smb\nactions:\n  - {day: 1, action: key_action}\n"),
        "scenario.yaml:3: actions[0].args.name: key_action needs name",
    ),
    Edge(
        "scenario: a contract that would be refused",
        scenario(f"segment: smb\ncontract: {REFUSED_CONTRACT}\n"),
        "scenario.yaml:2: contract.acv: Input should be greater than 0",
    ),
    Edge(
        "scenario: an action after the end of the run",
        scenario("segment: smb\ndays: 5\nactions:\n  - {day: 10, action: first_login}\n"),
        "scenario.yaml: actions[0] (line 4): day 10 is after the end of the run (day 5)\n"
        "raise --days or move the actions earlier",
    ),
    Edge(
        "scenario: not YAML",
        scenario("actions: [unclosed\n"),
        "scenario.yaml:2:1: does not parse as YAML or JSON: expected ',' or ']', but got '<stream end>'",
    ),
    Edge(
        "scenario: a list, not a mapping",
        scenario("- 1\n- 2\n"),
        "scenario.yaml:1: expected a mapping with actions (and optionally segment, contract, expect)",
    ),
    Edge(
        "scenario: unknown key",
        scenario("segment: smb\naction: []\n"),
        "scenario.yaml:2: action: Extra inputs are not permitted",
    ),
]


# -- templates (a template that fails at send time escalates instead: tests/test_jams.py) --


TEMPLATE_EDGES = [
    Edge(
        "template: preview of a template that does not exist",
        lambda world, _: admin_refuses(["preview", "welcom"]),
        "unknown template 'welcom'; did you mean 'welcome'?",
    ),
]


# -- signatures: the intake's HMAC, SendGrid's ECDSA, unsubscribe links --


def signed_contract(
    make_headers: Callable[[bytes], dict[str, str]], status: int = 401, tamper: bool = False
) -> Attempt:
    async def attempt(world: World, account: str) -> str:
        body = contract_bytes(account, lambda d: None)
        sent = make_headers(body)
        if tamper:
            body = body.replace(b"BrightPath", b"DarkPath")
        return await post(world, "/contracts", body, status, signed=sent)

    return attempt


def sendgrid_events(key: Callable[[World], ec.EllipticCurvePrivateKey | None], tamper: bool = False) -> Attempt:
    """A hard bounce for the onboarding's welcome email, signed with `key` (None: unsigned)."""

    async def attempt(world: World, account: str) -> str:
        with Session(engine(world.settings.database_url)) as db:
            row = db.exec(select(OutboxEmail).where(OutboxEmail.account_id == account)).first()
        assert row is not None
        bounce = {
            "email": row.to_email,
            "timestamp": int(time.time()),
            "event": "bounce",
            "sg_event_id": f"evt-{uuid.uuid4().hex}",
            "message_key": row.key,
            "workflow_id": row.workflow_id,
        }
        body = json.dumps([bounce]).encode()
        stamp = str(int(time.time()))
        sent = {"Content-Type": "application/json"}
        signer = key(world)
        if signer is not None:
            signature = signer.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            sent |= {webhook.SIGNATURE_HEADER: base64.b64encode(signature).decode(), webhook.TIMESTAMP_HEADER: stamp}
        if tamper:
            body = body.replace(b'"bounce"', b'"spamreport"')
        response = await world.intake.post("/webhooks/sendgrid", content=body, headers=sent)
        assert response.status_code == 401, response.text
        return str(response.json()["detail"])

    return attempt


async def forged_unsubscribe(world: World, account: str) -> str:
    with Session(engine(world.settings.database_url)) as db:
        row = db.exec(select(OutboxEmail).where(OutboxEmail.account_id == account)).first()
    assert row is not None
    response = await world.intake.post("/email/unsubscribe", params={"m": row.key, "sig": "0" * 64})
    assert response.status_code == 403, response.text
    return str(response.json()["detail"])


async def oversized_contract(world: World, account: str) -> str:
    body = contract_bytes(account, _set("handover.notes", "x" * (MAX_BODY + 1)))
    return await post(world, "/contracts", body, 413)


OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
SIGNATURE_EDGES = [
    Edge(
        "signature: absent",
        signed_contract(lambda body: {}),
        f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header",
    ),
    Edge(
        "signature: wrong secret",
        signed_contract(lambda body: headers("another-secret-0123456789", body)),
        f"{SIGNATURE_HEADER}: signature does not match the body",
    ),
    Edge(
        "signature: body changed after signing",
        signed_contract(lambda body: headers(SECRET, body), tamper=True),
        f"{SIGNATURE_HEADER}: signature does not match the body",
    ),
    Edge(
        "signature: stale",
        signed_contract(lambda body: headers(SECRET, body, now=time.time() - 600)),
        f"{TIMESTAMP_HEADER}: stale or future timestamp (allowed skew 300s)",
    ),
    Edge(
        "signature: from the future",
        signed_contract(lambda body: headers(SECRET, body, now=time.time() + 600)),
        f"{TIMESTAMP_HEADER}: stale or future timestamp (allowed skew 300s)",
    ),
    Edge(
        "signature: timestamp not a number",
        signed_contract(lambda body: {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "sha256=00"}),
        f"{TIMESTAMP_HEADER}: expected Unix seconds",
    ),
    Edge("CRM webhook: body over the size limit", oversized_contract, f"body larger than {MAX_BODY} bytes"),
    Edge(
        "SendGrid events: unsigned",
        sendgrid_events(lambda world: None),
        f"{webhook.SIGNATURE_HEADER}: missing or not valid for this body",
        onboarding,
    ),
    Edge(
        "SendGrid events: signed with another key",
        sendgrid_events(lambda world: OTHER_KEY),
        f"{webhook.SIGNATURE_HEADER}: missing or not valid for this body",
        onboarding,
    ),
    Edge(
        "SendGrid events: changed after signing",
        sendgrid_events(lambda world: world.sendgrid_key, tamper=True),
        f"{webhook.SIGNATURE_HEADER}: missing or not valid for this body",
        onboarding,
    ),
    Edge("unsubscribe link: forged", forged_unsubscribe, "this unsubscribe link is not valid", onboarding),
]

EDGES = CONTRACT_EDGES + EVENT_EDGES + ACTION_EDGES + PLAYBOOK_EDGES + SCENARIO_EDGES + TEMPLATE_EDGES + SIGNATURE_EDGES
PERSONAL = [v for person in (*contract("smb")["contacts"], contract("smb")["sales_rep"]) for v in person.values()]


@pytest.mark.parametrize("edge", [pytest.param(e, id=e.name, marks=e.marks) for e in EDGES])
async def test_bad_input_is_refused_clearly_and_leaves_nothing_behind(world: World, edge: Edge) -> None:
    account = await edge.setup(world)
    own = account if edge.history_moves else None
    before = await world.snapshot(skip=own)

    try:
        said = await edge.attempt(world, account)
    finally:
        await world.stop_strays(before)

    expected = edge.says.replace("{account}", account)
    if expected.endswith("..."):
        assert said.startswith(expected.removesuffix("...")), said
    else:
        assert said == expected
    assert not [value for value in PERSONAL if value in said and value not in ("champion", "billing")]
    assert await world.snapshot(skip=own) == before
