"""No input jams an onboarding: broken templates, provider outages, an empty roster, a re-signing
customer, ticket storms, a refused address and a cancel with open escalations.

Each test runs the real worker (real activities on SQLite) on the time-skipping server and
checks what a CSM, a CS manager or the customer would notice. SendGrid is stood in on
127.0.0.1 (pytest-httpserver) where a test needs the provider's answers; its settings are
passed to the worker explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType as ET
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner
from werkzeug import Request, Response

import admin
import starter
from adapters.config import Settings
from adapters.db import HumanTask, engine
from adapters.email.render import available
from onboarding import playbook
from onboarding.messages import Cancel, CorrectContact
from onboarding.models import Status
from onboarding.playbook import Playbook, ReactionRule, Send
from service.start import previous_outcome
from tests.conftest import Run, contract
from worker import build_worker

DAY = timedelta(days=1)
CHAMPION = "priya@brightpath.example"  # contracts/smb.json


# ---- the engine under test, with the settings a test chooses -------------------------------


@dataclass
class Engine:
    """A task queue, a worker with explicit settings, and the onboardings started (terminated at the end)."""

    env: WorkflowEnvironment
    settings: Settings
    queue: str = field(default_factory=lambda: f"jam-{uuid.uuid4()}")
    runs: list[Run] = field(default_factory=list)

    def worker(self, settings: Settings | None = None) -> Any:
        return build_worker(self.env.client, self.queue, settings=settings or self.settings)

    async def start(self, segment: str, plan: Playbook | None = None, **changes: object) -> Run:
        """Sign a contract now (virtual time) and start its onboarding, as starter.py does."""
        changes.setdefault("account_id", f"acct-{uuid.uuid4().hex[:10]}")
        now = await self.env.get_current_time()
        signed = starter.parse_contract(json.dumps(contract(segment, **changes)), now=now)
        handle = await starter.start(self.env.client, signed, plan, task_queue=self.queue)
        self.runs.append(Run(handle=handle, contract=signed, settings=self.settings))
        return self.runs[-1]


@pytest_asyncio.fixture
async def jam(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Engine]:
    e = Engine(env, settings)
    yield e
    for run in e.runs:
        with contextlib.suppress(RPCError):
            await run.latest.terminate("test over")


async def ended(run: Run) -> Status:
    handle = run.handle._client.get_workflow_handle(run.handle.id, result_type=Status)
    return await asyncio.wait_for(handle.result(), timeout=30)


async def history(run: Run) -> list[HistoryEvent]:
    return [e async for e in run.latest.fetch_history_events()]


def no_task_failed(events: list[HistoryEvent]) -> None:
    failed = [e for e in events if e.event_type == ET.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, [e.workflow_task_failed_event_attributes.failure.message for e in failed]


async def until(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait (real time, briefly) for the worker to get somewhere, where `settled` cannot tell: an
    activity that keeps retrying (waiting for staff) never lets a run settle."""
    for _ in range(200):
        if await probe():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within 10 s: {what}")


def sent(run: Run) -> list[tuple[str, str, str]]:
    """(template, role, address) of every email handed to the backend, in order."""
    return [(m.template, m.to_role, m.to_email) for m in run.outbox() if m.status == "sent"]


# ---- SendGrid, stood in ------------------------------------------------------------------


@pytest.fixture(scope="module")
def stand_in() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


Answer = Callable[[dict[str, Any]], Response]


class SendGrid:
    """What the stand-in received (template, address, HTTP status answered) and how it answers now."""

    def __init__(self, server: HTTPServer) -> None:
        self.received: list[tuple[str, str, int]] = []
        self.answer: Answer = lambda mail: Response("", status=202, headers={"X-Message-Id": uuid.uuid4().hex})
        server.expect_request("/v3/mail/send", method="POST").respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        mail = request.get_json()
        response = self.answer(mail)
        self.received.append(
            (mail["categories"][1], mail["personalizations"][0]["to"][0]["email"], response.status_code)
        )
        return response

    def delivered(self) -> list[tuple[str, str]]:
        return [(template, to) for template, to, status in self.received if status == 202]


@pytest.fixture
def sendgrid(stand_in: HTTPServer, settings: Settings) -> Iterator[tuple[SendGrid, Settings]]:
    configured = dataclasses.replace(
        settings,
        email_backend="sendgrid",
        sendgrid_api_key="SG.test-key",
        sendgrid_host=stand_in.url_for("").rstrip("/"),
        sendgrid_timeout=0.5,
        email_link_secret="test-secret-for-unsubscribe-links",
        email_confirm_window=timedelta(minutes=2),
    )
    yield SendGrid(stand_in), configured
    stand_in.clear()


def outage(mail: dict[str, Any]) -> Response:
    return Response('{"errors":[{"message":"service unavailable"}]}', status=503, content_type="application/json")


# ---- a template that fails at send time ----------------------------------------------------


async def test_a_template_that_fails_at_send_time_escalates_once_and_the_journey_goes_on(
    env: WorkflowEnvironment, jam: Engine
) -> None:
    plan = playbook.for_segment("smb", available())
    missing = ReactionRule(send=Send(template="welcome_video_retired", to="champion"))  # its files were removed
    reactions = plan.reactions.model_copy(update={"signed": (missing, *plan.reactions.signed)})
    broken = plan.model_copy(update={"reactions": reactions})
    async with jam.worker():
        run = await jam.start("smb", plan=broken)
        await env.sleep(DAY + timedelta(hours=1))
        await run.settled()

        # The other email of the same moment, the CSM's notice and the next day's touch all went.
        assert {(0, "welcome", "champion"), (0, "escalation", "csm"), (1, "setup_day1", "champion")} <= set(
            run.emails()
        )
        assert "welcome_video_retired" not in [m.template for m in run.outbox()]
        status = await run.status()
        [task] = [t for t in run.tasks() if t.rule == "email_failed"]
        assert "'welcome_video_retired'" in task.reason and "missing" in task.reason
        assert (task.assignee, task.status, task.occurrences) == (status.owner, "open", 1)

        # Failed once, not retried: one failed attempt in the whole history.
        events = await history(run)
        no_task_failed(events)
        failed = [e for e in events if e.event_type == ET.EVENT_TYPE_ACTIVITY_TASK_FAILED]
        assert len(failed) == 1
        assert "welcome_video_retired" in failed[0].activity_task_failed_event_attributes.failure.message
        started = next(
            e for e in events if e.event_id == failed[0].activity_task_failed_event_attributes.started_event_id
        )
        assert started.activity_task_started_event_attributes.attempt == 1

        answer = await run.act(Cancel(reason="other", note="Re-signed under a new plan"))
        assert answer.state == "cancelled"
        assert (await ended(run)).state == "cancelled"


# ---- cancel during a provider outage -------------------------------------------------------


async def test_cancel_during_a_provider_outage_sends_nothing_when_it_recovers(
    env: WorkflowEnvironment, jam: Engine, sendgrid: tuple[SendGrid, Settings]
) -> None:
    fake, configured = sendgrid
    fake.answer = outage
    async with jam.worker(configured):
        run = await jam.start("smb")
        await env.sleep(timedelta(minutes=10))  # the welcome retries with backoff
        assert len(fake.received) >= 3 and fake.delivered() == []
        [row] = run.outbox()
        assert (row.template, row.status) == ("welcome", "pending")

        answer = await run.act(Cancel(reason="duplicate", note="Signed twice in the CRM"))
        assert answer.state == "cancelled"
        final = await ended(run)
        assert final.state == "cancelled"
        events = await history(run)
        no_task_failed(events)
        cancel_at = next(
            e.event_time.ToDatetime(tzinfo=UTC)
            for e in events
            if e.event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        )
        closed_at = events[-1].event_time.ToDatetime(tzinfo=UTC)
        assert events[-1].event_type == ET.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
        assert closed_at - cancel_at < timedelta(seconds=30)  # not at the next retry, minutes away
        await run.settled()
        assert [(m.template, m.status) for m in run.outbox()] == [("welcome", "cancelled")]

        tried = len(fake.received)
        fake.answer = lambda mail: Response("", status=202, headers={"X-Message-Id": "msg-late"})  # recovered
        await env.sleep(DAY)
        assert len(fake.received) == tried and fake.delivered() == []
        assert run.emails() == []


# ---- an empty roster -------------------------------------------------------------------------


def roster(tmp_path: Path, *people: str) -> Path:
    path = tmp_path / "staff.yaml"
    path.write_text("people:\n" + "".join(f"  - {p}\n" for p in people))
    return path


MANAGER = (
    "{id: mgr-ines, name: Ines Duarte, email: ines@vendor.example, role: cs_manager, segments: [smb], capacity: 200}"
)
ENTERPRISE_CSM = (
    "{id: csm-ent, name: Ent Only, email: ent@vendor.example, role: csm, segments: [enterprise], capacity: 10}"
)


async def test_an_empty_roster_starts_unassigned_tells_the_manager_and_assigns_once_someone_fits(
    env: WorkflowEnvironment, jam: Engine, settings: Settings, tmp_path: Path
) -> None:
    staffed = dataclasses.replace(settings, staff_file=roster(tmp_path, MANAGER, ENTERPRISE_CSM))
    async with jam.worker(staffed):
        run = await jam.start("smb")

        async def told() -> bool:
            return {"welcome", "escalation"} <= {t for t, _, _ in sent(run)}

        await until(told, "the welcome and the manager's notice sent")
        status = await run.status()
        assert status.owner == "unassigned" and status.state == "active"
        assert [(e.id, e.assignee) for e in status.open_escalations] == [("unassigned", "mgr-ines")]
        assert ("welcome", "champion", CHAMPION) in sent(run)
        assert [(t, role) for t, role, _ in sent(run) if t == "escalation"] == [("escalation", "cs_manager")]
        [task] = run.tasks()
        assert (task.rule, task.assignee, task.status) == ("unassigned", "mgr-ines", "open")

        added = CliRunner().invoke(
            admin.app,
            [
                "staff",
                "add",
                "csm-nia",
                "--name",
                "Nia Bello",
                "--email",
                "nia@vendor.example",
                "--role",
                "csm",
                "--segment",
                "smb",
                "--capacity",
                "40",
            ],
        )
        assert added.exit_code == 0, added.output
        await env.sleep(timedelta(hours=2))

        async def assigned() -> bool:
            return (await run.status()).owner == "csm-nia" and [t.status for t in run.tasks()] == ["resolved"]

        await until(assigned, "assigned to the new CSM, the unassigned escalation resolved")
        assert (await run.status()).open_escalations == []
        no_task_failed(await history(run))


async def test_a_roster_with_nobody_for_the_segment_and_no_manager_does_not_fail_the_run(
    env: WorkflowEnvironment, jam: Engine, settings: Settings, tmp_path: Path
) -> None:
    staffed = dataclasses.replace(settings, staff_file=roster(tmp_path, ENTERPRISE_CSM))
    async with jam.worker(staffed):
        run = await jam.start("smb")
        await env.sleep(timedelta(hours=3))

        async def welcomed() -> bool:
            return ("welcome", "champion", CHAMPION) in sent(run)

        await until(welcomed, "the welcome sent")  # the customer is not kept waiting
        assert (await run.latest.describe()).status == WorkflowExecutionStatus.RUNNING
        no_task_failed(await history(run))
        status = await run.status()
        assert status.owner == "unassigned" and status.state == "active"


# ---- onboarding again after cancel ---------------------------------------------------------


async def test_an_account_cancelled_and_signed_again_is_onboarded_again(env: WorkflowEnvironment, jam: Engine) -> None:
    async with jam.worker():
        first = await jam.start("smb")
        await env.sleep(2 * DAY + timedelta(hours=1))  # escalations open
        await first.settled()
        assert [t.status for t in first.tasks()] and all(t.status == "open" for t in first.tasks())
        await first.act(Cancel(reason="churned"))
        assert (await ended(first)).state == "cancelled"
        await first.settled()
        closed = {t.key: t.status for t in first.tasks()}
        assert set(closed.values()) == {"cancelled"}

        assert await previous_outcome(env.client, first.handle.id) == "cancelled"
        again = await jam.start("smb", account_id=first.contract.account_id)
        await again.settled()
        assert again.handle.id == first.handle.id
        assert again.handle.first_execution_run_id != first.handle.first_execution_run_id
        assert (await again.status()).state == "active"

        welcomes = [m for m in again.outbox() if m.template == "welcome"]
        assert [m.status for m in welcomes] == ["sent", "sent"]  # sent again, to the re-signed customer
        assert welcomes[0].key != welcomes[1].key
        assert {k: s for k, s in ((t.key, t.status) for t in again.tasks()) if k in closed} == closed


# ---- a support-ticket burst ----------------------------------------------------------------


async def test_a_support_ticket_burst_opens_one_escalation_that_counts_the_repeats(
    env: WorkflowEnvironment, jam: Engine
) -> None:
    threshold = playbook.for_segment("smb").red_flags.support_load_threshold.tickets
    async with jam.worker():
        run = await jam.start("smb")
        await run.settled()
        for burst in range(10):  # 100 tickets over 2 days
            await asyncio.gather(*(run.event("support_ticket", id=f"zd-{burst * 10 + n}") for n in range(10)))
            await env.sleep(timedelta(hours=4, minutes=48))
        await run.settled()

        [task] = [t for t in run.tasks() if t.rule == "support_load"]
        assert task.status == "open" and task.occurrences == 100 // threshold
        notices = [m for m in run.outbox() if m.template == "escalation" and "support_load" in m.key]
        assert len([m for m in notices if m.key.endswith(".notify")]) == 1  # (and one to the manager: unclaimed)
        assert len([e for e in run.timeline("event") if e.name == "support_ticket"]) == 100
        assert [e.reason for e in (await run.status()).open_escalations].count(
            "Rising support load during onboarding"
        ) == 1


# ---- a refused address, corrected ----------------------------------------------------------


async def test_a_refused_address_opens_one_task_and_a_corrected_contact_gets_the_later_touches(
    env: WorkflowEnvironment, jam: Engine, sendgrid: tuple[SendGrid, Settings]
) -> None:
    fake, configured = sendgrid

    def refuse_priya(mail: dict[str, Any]) -> Response:
        if mail["personalizations"][0]["to"][0]["email"] == CHAMPION:
            error = {"field": "personalizations.0.to.0.email", "message": "Does not contain a valid address."}
            return Response(json.dumps({"errors": [error]}), status=400, content_type="application/json")
        return Response("", status=202, headers={"X-Message-Id": uuid.uuid4().hex})

    fake.answer = refuse_priya
    async with jam.worker(configured):
        run = await jam.start("smb")
        await env.sleep(8 * DAY)
        await run.settled()

        refused = [t for t, to, status in fake.received if to == CHAMPION and status == 400]
        assert len(refused) >= 4, refused  # welcome, setup day 1, the day-3 and day-7 re-engagements
        [task] = [t for t in run.tasks() if t.rule == "email_failed"]
        assert task.status == "open" and task.occurrences == len(refused)
        assert "python admin.py contact" in task.reason

        new = "priya.nair@brightpath.example"
        mark = len(fake.received)
        status = await run.act(CorrectContact(role="champion", email=new, id="fix-priya"))
        assert not [e for e in status.open_escalations if e.id.startswith("email_failed")]
        await run.settled()
        [task] = [t for t in run.tasks() if t.rule == "email_failed"]
        assert task.status == "resolved"

        await env.sleep(5 * DAY)  # the 10-day inactivity re-engagement
        await run.settled()
        later = [(t, to) for t, to, status in fake.received[mark:] if to in (CHAMPION, new)]
        assert later and all(to == new for _, to in later)
        assert all(s == 202 for t, to, s in fake.received if to == new)
        assert len([t for t in run.tasks() if t.rule == "email_failed"]) == 1


# ---- cancel with open escalations ----------------------------------------------------------


async def test_cancel_closes_the_open_escalations_everywhere(env: WorkflowEnvironment, jam: Engine) -> None:
    async with jam.worker():
        run = await jam.start("smb")
        await env.sleep(2 * DAY + timedelta(hours=1))
        await run.settled()
        opened = (await run.status()).open_escalations
        assert opened
        account = run.contract.account_id
        listed = CliRunner().invoke(admin.app, ["escalations", "--account", account])
        assert listed.exit_code == 0 and all(e.id in listed.output for e in opened), listed.output

        answer = await run.act(Cancel(reason="lost", note="Chose a competitor"))
        assert answer.open_escalations == []
        final = await ended(run)
        assert final.state == "cancelled" and final.open_escalations == []
        await run.settled()

        assert {t.status for t in run.tasks()} == {"cancelled"}
        with Session(engine(run.settings.database_url)) as db:
            still_open = db.exec(select(HumanTask).where(HumanTask.status == "open")).all()
        assert still_open == []
        listed = CliRunner().invoke(admin.app, ["escalations"])
        assert listed.exit_code == 0 and account not in listed.output
        assert "no open escalations" in listed.output
        assert not [m for m in run.outbox() if m.status == "pending"]
