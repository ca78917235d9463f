"""A realistic EmailRequest for every template: what `admin.py preview` shows and the tests render.

The context has exactly the keys the workflow sends (tests compare them with a real run), for
an SMB customer a week into onboarding.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from onboarding.effects import EmailRequest, Recipient

ACCOUNT = "brightpath-dental"
WORKFLOW = f"onboarding-{ACCOUNT}"
AT = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

CONTEXT: dict[str, Any] = {
    "company": "BrightPath Dental",
    "segment": "smb",
    "phase": "Self-serve setup",
    "phase_number": 1,
    "phase_count": 4,
    "steps_done": 1,
    "steps_total": 3,
    "steps_pending": ["Invite your team", "Connect your first integration"],
    "modules_done": 1,
    "modules_total": 2,
    "next_module": "Feature highlights",
    "success_criteria": ["Online booking page live", "At least 20 bookings made online"],
    "signed_at": "2026-03-02T09:00:00+00:00",
    "due_at": "2026-04-01T09:00:00+00:00",
    "csm_name": "Leo Martins",
    "csm_email": "leo.martins@vendor.example",
    "champion_name": "Priya Nair",
}

# What the workflow adds for particular touches (see workflows/onboarding.py).
EXTRAS: dict[str, dict[str, Any]] = {
    "module_completed": {"module_title": "Quick-start guide for your use case"},
    "kickoff_summary": {
        "kickoff_notes": "Both clinics go live together.\nTom sends the old booking export by Friday.",
    },
    "escalation": {"reason": "No login 7 days after signing", "rule": "no_login_7d", "days_stalled": 7},
    "colleague_invitation": {
        "step_title": "Connect your first integration",
        "inviter_name": "Priya Nair",
        "invitee_role": "it_admin",
    },
    "task": {
        "reason": "Prepare the business review",
        "rule": "task",
        "days_stalled": 0,
        "escalation_id": "task.business_review",
        "task_due_at": "2026-03-12T09:00:00+00:00",
    },
    "kickoff_cancelled": {"kickoff_at": "2026-03-16T15:00:00+00:00"},
    "new_csm_introduction": {"previous_csm_name": "Siti Rahman"},
    "handover_note": {"previous_csm_name": "Siti Rahman"},
    "step_skipped_reminder": {"step_title": "Connect your first integration"},
    "stuck_help": {"step_title": "Connect your first integration"},
    "pause_confirmation": {"until": "2026-03-30T09:00:00+00:00"},
}

RECIPIENTS: dict[str, Recipient] = {
    "sales_handover_reminder": Recipient(role="sales_rep", name="Jordan Blake", email="jordan.blake@vendor.example"),
    "personal_welcome_reminder": Recipient(role="csm", name="Leo Martins", email="leo.martins@vendor.example"),
    "escalation": Recipient(role="cs_manager", name="Elena Petrova", email="elena.petrova@vendor.example"),
    "handover_to_ongoing_csm": Recipient(role="csm", name="Leo Martins", email="leo.martins@vendor.example"),
    "colleague_invitation": Recipient(role="colleague", name="Sam Okafor", email="sam.okafor@brightpath.example"),
}
# Staff tasks and the hand-over note go to the (new) CSM of the sample.
RECIPIENTS["task"] = RECIPIENTS["handover_note"] = Recipient(
    role="csm", name=CONTEXT["csm_name"], email=CONTEXT["csm_email"]
)
CHAMPION = Recipient(role="champion", name="Priya Nair", email="priya.nair@brightpath.example")


def request(template: str, locale: str = "en", context: dict[str, Any] | None = None) -> EmailRequest:
    """A sample request for `template`; `context` overrides the sample's values."""
    return EmailRequest(
        key=f"{WORKFLOW}/preview.{template}",
        workflow_id=WORKFLOW,
        account_id=ACCOUNT,
        template=template,
        locale=locale,
        to=RECIPIENTS.get(template, CHAMPION),
        context={**CONTEXT, **EXTRAS.get(template, {}), **(context or {})},
        at=AT,
    )
