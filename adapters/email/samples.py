"""A realistic EmailRequest for every template: what `admin.py preview` shows and the tests render.

The context has exactly the keys the workflow sends (tests compare them with a real run), for
an SMB customer a week into onboarding: the README's own example, so the people in a preview
are the ones a new user meets. The customer side comes from contracts/smb.json, the vendor
side from the roster in staff.yaml (the SMB CSM a first onboarding gets, the CS manager).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from adapters.config import ROOT
from adapters.staff import Person, load
from onboarding.effects import EmailRequest, Recipient

CONTRACT: dict[str, Any] = json.loads((ROOT / "contracts" / "smb.json").read_text(encoding="utf-8"))


@cache
def staff(role: str) -> Person:
    """Who has this role for SMB in the example roster; on a tie the first by id, as assignment picks."""
    return min(
        (p for p in load(ROOT / "staff.yaml").people if p.role == role and "smb" in p.segments), key=lambda p: p.id
    )


def vendor(role: str, template_role: str) -> Recipient:
    person = staff(role)
    return Recipient(role=template_role, name=person.name, email=person.email)


def contact(role: str) -> Recipient:
    found = next(c for c in CONTRACT["contacts"] if c["role"] == role)
    return Recipient(role=role, name=found["name"], email=found["email"])


ACCOUNT = CONTRACT["account_id"]
WORKFLOW = f"onboarding-{ACCOUNT}"
AT = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

CONTEXT: dict[str, Any] = {
    "company": CONTRACT["company"],
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
    "success_criteria": CONTRACT["success_criteria"],
    "signed_at": "2026-03-02T09:00:00+00:00",
    "due_at": "2026-04-01T09:00:00+00:00",
    "csm_name": staff("csm").name,
    "csm_email": staff("csm").email,
    "champion_name": contact("champion").name,
}

# What the workflow adds for particular touches (see workflows/onboarding.py).
EXTRAS: dict[str, dict[str, Any]] = {
    "module_completed": {"module_title": "Quick-start guide for your use case"},
    "kickoff_summary": {
        "kickoff_notes": "Both clinics go live together.\nTom sends the old booking export by Friday.",
    },
    "escalation": {
        "reason": "No login 7 days after signing",
        "rule": "no_login_7d",
        "days_stalled": 7,
        "escalation_id": "no_login_7d.1",
    },
    "colleague_invitation": {
        "step_title": "Connect your first integration",
        "inviter_name": contact("champion").name,
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
    "sales_handover_reminder": Recipient(role="sales_rep", **CONTRACT["sales_rep"]),
    "personal_welcome_reminder": vendor("csm", "csm"),
    "escalation": vendor("cs_manager", "cs_manager"),
    "handover_to_ongoing_csm": vendor("csm", "csm"),
    "colleague_invitation": Recipient(role="colleague", name="Sam Okafor", email="sam.okafor@brightpath.example"),
}
# Staff tasks and the hand-over note go to the (new) CSM of the sample.
RECIPIENTS["task"] = RECIPIENTS["handover_note"] = Recipient(
    role="csm", name=CONTEXT["csm_name"], email=CONTEXT["csm_email"]
)
CHAMPION = contact("champion")


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
