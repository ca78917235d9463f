"""`admin.py status`: times since an event come from the event's own time, as of the query."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from cli.summary import activity
from onboarding.models import Status
from tests.live_stack import LiveStack, live  # noqa: F401 (the fixture)

ACTIVITY = re.compile(r"^Activity   last \w{3} \d+ \w{3} \d\d:\d\d UTC \((\d+) s ago\)$", re.M)


def seconds_since_activity(live: LiveStack, account: str) -> int:  # noqa: F811
    result = live.sh(f"python admin.py status {account}")
    assert result.returncode == 0, result.stderr
    found = ACTIVITY.search(result.stdout)
    assert found, result.stdout
    return int(found[1])


def test_the_time_since_the_last_activity_grows_between_two_queries(live: LiveStack) -> None:  # noqa: F811
    account = live.begin("smb")
    assert live.sh(f"python admin.py event {account} first_login").returncode == 0
    time.sleep(1)
    first = seconds_since_activity(live, account)
    time.sleep(3)
    second = seconds_since_activity(live, account)
    assert first <= 5
    assert second - first >= 2, "computed from the workflow's last wake-up, not at the query"


def test_no_activity_since_signing_says_so() -> None:
    signed = datetime(2026, 3, 2, 9, tzinfo=UTC)
    now = signed + timedelta(minutes=11)
    fields: dict[str, Any] = {"signed_at": signed, "last_activity_at": None}  # what activity() reads
    status = Status.model_construct(**fields)
    assert activity(status, now) == "none since signing"
    assert activity(status.model_copy(update={"last_activity_at": signed}), now) == "none since signing"
    later = status.model_copy(update={"last_activity_at": signed + timedelta(minutes=3)})
    assert activity(later, now) == "last Mon 2 Mar 09:03 UTC (8 min ago)"
