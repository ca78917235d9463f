"""The kickoff invitation's calendar entry: an .ics that calendar apps update in place, and the booking link."""

from __future__ import annotations

import base64
import dataclasses
import email
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.email import Mailer
from adapters import staff
from adapters.config import Settings
from adapters.db import engine
from adapters.email import samples
from adapters.email.calendar import ics
from adapters.email.compose import outgoing
from adapters.email.local import eml_path
from adapters.email.render import Rendered
from adapters.email.sendgrid_backend import payload
from onboarding.effects import CalendarInvite, EmailRequest, Recipient
from onboarding.messages import Cancel, ScheduleKickoff

START = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)
CSM = Recipient(role="csm", name="Leo Martin", email="leo@vendor.example")
ROSTER = """
people:
  - {id: csm-leo, name: Leo Martin, email: leo@vendor.example, role: csm, segments: [smb], capacity: 80,
     booking_url: "https://cal.vendor.example/leo/kickoff"}
  - {id: mgr-elena, name: Elena Petrova, email: elena@vendor.example, role: cs_manager, segments: [smb], capacity: 9}
"""


def invite(sequence: int, start: datetime = START, method: str = "REQUEST") -> CalendarInvite:
    return CalendarInvite(
        uid="onboarding-brightpath.1a2b3c4d.kickoff",
        sequence=sequence,
        start=start,
        end=start + timedelta(minutes=60),
        method=method,  # type: ignore[arg-type]
        summary="BrightPath Dental kickoff",
        organizer=CSM,
    )


def event_of(data: Any) -> tuple[str, Any]:
    cal = Calendar.from_ical(data)
    [event] = cal.walk("VEVENT")
    return str(cal["METHOD"]), event


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence_and_a_cancel_says_so() -> None:
    champion = Recipient(role="champion", name="Priya Nair", email="priya@brightpath.example")
    stamp = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first = ics(invite(0), champion, stamp)
    moved = ics(invite(1, START + timedelta(days=1)), champion, stamp)
    cancelled = ics(invite(2, START + timedelta(days=1), "CANCEL"), champion, stamp)
    assert ics(invite(0), champion, stamp) == first  # a retried send builds the same bytes
    (m1, e1), (m2, e2), (m3, e3) = event_of(first), event_of(moved), event_of(cancelled)
    assert str(e1["UID"]) == str(e2["UID"]) == str(e3["UID"]) == "onboarding-brightpath.1a2b3c4d.kickoff"
    assert (e1["SEQUENCE"], e2["SEQUENCE"], e3["SEQUENCE"]) == (0, 1, 2)
    assert (m1, m2, m3) == ("REQUEST", "REQUEST", "CANCEL")
    assert (str(e1["STATUS"]), str(e3["STATUS"])) == ("CONFIRMED", "CANCELLED")
    assert e2.decoded("DTSTART") == START + timedelta(days=1)
    assert e2.decoded("DTEND") - e2.decoded("DTSTART") == timedelta(minutes=60)
    assert str(e1["ORGANIZER"]) == "mailto:leo@vendor.example"
    assert str(e1["ATTENDEE"]) == "mailto:priya@brightpath.example"


@pytest.fixture
def settings(tmp_path: Path, settings: Settings) -> Settings:
    roster = tmp_path / "staff.yaml"
    roster.write_text(ROSTER)
    with Session(engine(settings.database_url)) as db:
        staff.save(db, staff.load(roster).people)
        db.commit()
    return settings


def send(settings: Settings, request: EmailRequest) -> Message:
    activity_env = ActivityEnvironment()
    activity_env.info = dataclasses.replace(activity_env.info, started_time=datetime.now(UTC))
    activity_env.run(Mailer(settings).send_email, request)
    return email.message_from_bytes(eml_path(settings.outbox_dir, request.key).read_bytes())


def plain(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data.decode()


def kickoff(sequence: int, key: str, start: datetime = START) -> EmailRequest:
    base = samples.request("kickoff_invitation", context={"csm_name": "Leo Martin", "csm_email": "leo@vendor.example"})
    return base.model_copy(update={"key": key, "calendar": invite(sequence, start)})


def test_the_kickoff_email_carries_the_invitation_and_the_update_replaces_it(settings: Settings) -> None:
    first = send(settings, kickoff(0, "onboarding-brightpath.1a2b3c4d/kickoff"))
    moved = send(settings, kickoff(1, "onboarding-brightpath.1a2b3c4d/kickoff.1", START + timedelta(hours=2)))
    for message, sequence in ((first, 0), (moved, 1)):
        assert message.get_content_type() == "multipart/mixed"
        inline = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        attached = [p for p in message.walk() if p.get_filename() == "invite.ics"]
        assert len(inline) == 1 and inline[0].get_param("method") == "REQUEST"
        assert len(attached) == 1
        method, event = event_of(attached[0].get_payload(decode=True))
        assert (method, event["SEQUENCE"]) == ("REQUEST", sequence)
        assert str(event["UID"]) == "onboarding-brightpath.1a2b3c4d.kickoff"
    assert "book a slot" not in plain(first)  # the time is agreed: no booking link


def test_before_a_time_is_agreed_the_invitation_links_the_csms_booking_page(settings: Settings) -> None:
    leo = samples.request("kickoff_invitation", context={"csm_email": "leo@vendor.example"})
    message = send(settings, leo.model_copy(update={"key": "onboarding-a.1/kickoff_invitation"}))
    assert message.get_content_type() == "multipart/alternative"  # no meeting yet: no .ics
    assert "book a slot that suits you: https://cal.vendor.example/leo/kickoff" in plain(message)
    nobody = samples.request("kickoff_invitation", context={"csm_email": "nobody-on-roster@vendor.example"})
    message = send(settings, nobody.model_copy(update={"key": "onboarding-b.1/kickoff_invitation"}))
    assert "book a slot" not in plain(message) and "reply with two or three" in plain(message)


def test_sendgrid_gets_the_ics_as_a_text_calendar_attachment(settings: Settings) -> None:
    request = kickoff(3, "onboarding-brightpath.1a2b3c4d/kickoff.3")
    body = payload(outgoing(request, settings, Rendered("Kickoff", "text", "<p>html</p>")))
    [attachment] = body["attachments"]
    assert attachment["type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert attachment["filename"] == "invite.ics"
    _method, event = event_of(base64.b64decode(attachment["content"]))
    assert event["SEQUENCE"] == 3


def ics_of(settings: Settings, key: str) -> tuple[str, Any]:
    message = email.message_from_bytes(eml_path(settings.outbox_dir, key).read_bytes())
    [attached] = [p for p in message.walk() if p.get_filename() == "invite.ics"]
    return event_of(attached.get_payload(decode=True))


async def test_scheduling_moving_and_cancelling_the_kickoff_update_one_calendar_entry(
    env: WorkflowEnvironment, onboard: Any, settings: Settings
) -> None:
    run = await onboard("smb")
    await run.settled()  # the team is assigned: the CSM organises the meeting
    at = (await env.get_current_time()).replace(microsecond=0) + timedelta(days=3)
    await run.act(ScheduleKickoff(at=at, minutes=45))
    await env.sleep(timedelta(days=1))  # the engine spaces emails out: the invitation goes within the day
    await run.act(ScheduleKickoff(at=at + timedelta(hours=2), minutes=45))  # agreed on another time
    await env.sleep(timedelta(days=1))
    await run.act(Cancel(reason="churned"))
    await run.settled()
    sent = [(m.template, m.key) for m in run.outbox() if m.template in ("kickoff_invitation", "kickoff_cancelled")]
    assert [t for t, _ in sent] == ["kickoff_invitation", "kickoff_invitation", "kickoff_cancelled"]
    (m1, e1), (m2, e2), (m3, e3) = [ics_of(settings, key) for _template, key in sent]
    assert len({str(e["UID"]) for e in (e1, e2, e3)}) == 1
    assert (e1["SEQUENCE"], e2["SEQUENCE"], e3["SEQUENCE"]) == (0, 1, 2)
    assert (m1, m2, m3) == ("REQUEST", "REQUEST", "CANCEL")
    assert e2.decoded("DTSTART") == at + timedelta(hours=2)
    assert e2.decoded("DTEND") - e2.decoded("DTSTART") == timedelta(minutes=45)
