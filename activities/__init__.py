"""Every side effect of an onboarding, each safe to retry, as methods of objects built from Settings.

The workflow calls them by method (`workflow.execute_activity_method(Mailer.send_email, ...)`);
their activity type names are the method names.
"""

from collections.abc import Callable
from typing import Any

from activities.crm import Crm
from activities.email import Mailer
from activities.notices import Notices
from activities.records import Records
from activities.team import Staffing
from adapters.config import Settings


def for_worker(settings: Settings) -> list[Callable[..., Any]]:
    """Every activity, bound to objects that share the settings (and so one database engine)."""
    mailer, records, staffing = Mailer(settings), Records(settings), Staffing(settings)
    notices, crm = Notices(settings), Crm(settings)
    return [
        mailer.send_email,
        records.record,
        records.record_timeline,
        records.open_escalation,
        records.repeat_escalation,
        records.resolve_escalation,
        records.claim_escalation,
        records.cancel_onboarding,
        staffing.assign_team,
        staffing.find_staff,
        notices.announce,
        notices.claimed,
        notices.resolved,
        notices.cancelled,
        notices.update,
        crm.sync_deal,
    ]
