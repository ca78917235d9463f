"""Contact pressure: when an email may reach a person, in their own time zone.

At most one email to the same address within the playbook's window; none in the recipient's
quiet hours or, if the playbook says so, at the weekend. Pure functions of the time: the
journey defers what may not go yet and sends it at the moment these return.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from onboarding.playbook import Pressure


def _quiet(local: time, start: time, end: time) -> bool:
    """Within quiet hours; a span past midnight (18:00-09:00) wraps."""
    return start <= local < end if start < end else local >= start or local < end


def allowed_at(rule: Pressure, zone: str, at: datetime) -> datetime:
    """The first moment from `at` outside quiet hours and (if asked) on a business day."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    for _ in range(8):  # a week at most: quiet hours end within a day, weekends within two
        if rule.business_days and local.weekday() >= 5:
            local = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), time(0), tz)
            continue
        if (
            rule.quiet_from is not None
            and rule.quiet_until is not None
            and _quiet(local.time(), rule.quiet_from, rule.quiet_until)
        ):
            day = local.date() if local.time() < rule.quiet_until else local.date() + timedelta(days=1)
            local = datetime.combine(day, rule.quiet_until, tz)
            continue
        break
    return local.astimezone(at.tzinfo)


def next_slot(rule: Pressure, zone: str, now: datetime, last: datetime | None) -> datetime:
    """When the next email to this person may go: after the window since the last one, and
    outside their quiet time."""
    earliest = max(now, last + rule.window) if last else now
    return allowed_at(rule, zone, earliest)
