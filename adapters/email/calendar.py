"""The kickoff's calendar entry: an iCalendar (RFC 5545) invitation built with `icalendar`.

The UID is stable for one onboarding's meeting, and SEQUENCE rises with every reschedule,
so calendar apps update the entry they already have instead of adding another; a
cancellation is METHOD:CANCEL with STATUS:CANCELLED and the next sequence (RFC 5546).
DTSTAMP is the moment the journey asked for the email, so a retried send builds the same
bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from icalendar import Calendar, Event, vCalAddress, vText

from onboarding.effects import CalendarInvite, EmailRequest, Recipient

PRODID = "-//Onboarding engine//Kickoff//EN"


@dataclass(frozen=True)
class CalendarPart:
    """The .ics of one email, and the METHOD its MIME type must name."""

    method: str
    data: bytes
    filename: str = "invite.ics"

    @property
    def content_type(self) -> str:
        return f"text/calendar; charset=utf-8; method={self.method}"


def _address(who: Recipient, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{who.email}")
    address.params["cn"] = vText(who.name)
    address.params.update(params)
    return address


def ics(invite: CalendarInvite, attendee: Recipient, stamp: datetime, description: str = "") -> bytes:
    """One VEVENT invitation (or its cancellation) for one attendee."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", invite.start)
    event.add("dtend", invite.end)
    event.add("summary", invite.summary)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    event.add("organizer", _address(invite.organizer))
    event.add(
        "attendee",
        _address(attendee, role="REQ-PARTICIPANT", partstat="NEEDS-ACTION", rsvp="TRUE"),
    )
    cal.add_component(event)
    return bytes(cal.to_ical())


def part(request: EmailRequest) -> CalendarPart | None:
    """The .ics attachment for an email, or None when it carries no meeting."""
    invite = request.calendar
    if invite is None:
        return None
    return CalendarPart(invite.method, ics(invite, request.to, request.at))
