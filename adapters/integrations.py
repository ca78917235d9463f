"""Settings of the outside tools CS teams work in: HubSpot, Salesforce, Slack, Teams.

Each integration is off until its variables are set (docs/integrations.md says where each
value comes from). Secrets are kept out of `repr`, so a settings object in a log line or a
traceback shows none of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from onboarding.models import Segment

ROLE_SOURCES = ("property", "label")
SEGMENT_CHANNELS: dict[Segment, str] = {
    "smb": "SLACK_CHANNEL_SMB",
    "mid_market": "SLACK_CHANNEL_MID_MARKET",
    "enterprise": "SLACK_CHANNEL_ENTERPRISE",
}


class IntegrationConfigError(ValueError):
    """An integration is half configured; the message names the variable to fix."""


def _stages(name: str, raw: str) -> frozenset[tuple[str, str]]:
    """'default:closedwon, 7749:1234' -> {('default', 'closedwon'), ('7749', '1234')}."""
    pairs = set()
    for item in (p.strip() for p in raw.split(",")):
        pipeline, sep, stage = item.partition(":")
        if not item:
            continue
        if not sep or not pipeline.strip() or not stage.strip():
            raise IntegrationConfigError(f"{name}: expected PIPELINE:STAGE pairs separated by commas, got {item!r}")
        pairs.add((pipeline.strip(), stage.strip()))
    if not pairs:
        raise IntegrationConfigError(f"{name}: expected at least one PIPELINE:STAGE pair, e.g. default:closedwon")
    return frozenset(pairs)


@dataclass(frozen=True)
class HubSpotSettings:
    access_token: str = field(repr=False)
    client_secret: str = field(repr=False)
    webhook_url: str
    """The target URL exactly as registered in the HubSpot app: the v3 signature covers it."""
    closed_won: frozenset[tuple[str, str]]
    api_url: str = "https://api.hubapi.com"
    role_source: str = "property"
    role_property: str = "onboarding_role"
    acv_property: str = "amount"
    success_property: str = "success_criteria"
    phase_property: str = "onboarding_phase"
    status_property: str = "onboarding_status"
    max_age_seconds: float = 300.0

    def is_closed_won(self, pipeline: str, stage: str) -> bool:
        return (pipeline, stage) in self.closed_won

    def maybe_closed_won(self, stage: str) -> bool:
        """The webhook event names the stage only: a quick filter before the deal is fetched."""
        return any(stage == s for _, s in self.closed_won)


@dataclass(frozen=True)
class SalesforceSettings:
    organization_id: str
    closed_won_stage: str = "Closed Won"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    channel: str
    segment_channels: dict[str, str] = field(default_factory=dict)
    api_url: str = "https://slack.com/api/"

    def channel_for(self, segment: str | None) -> str:
        return self.segment_channels.get(segment or "", self.channel)


@dataclass(frozen=True)
class TeamsSettings:
    webhook_url: str = field(repr=False)
    """The Workflows webhook URL carries its own signature (sig=...): a secret."""


@dataclass(frozen=True)
class Integrations:
    hubspot: HubSpotSettings | None
    salesforce: SalesforceSettings | None
    slack: SlackSettings | None
    teams: TeamsSettings | None
    crm_task_assignee: str | None
    """Who gets the task when a won deal lacks what a contract needs (a staff id); else the CS manager."""

    @classmethod
    def from_env(cls) -> Integrations:
        return cls(
            hubspot=_hubspot(),
            salesforce=_salesforce(),
            slack=_slack(),
            teams=TeamsSettings(_env("TEAMS_WEBHOOK_URL", "")) if _env("TEAMS_WEBHOOK_URL", "") else None,
            crm_task_assignee=_env("CRM_TASK_ASSIGNEE", "") or None,
        )


def _env(name: str, default: str) -> str:
    """The variable's value; its default when unset or empty (compose passes unset ones as empty)."""
    return os.environ.get(name, "").strip() or default


def _require(names: list[str], what: str) -> bool:
    """True when all are set, False when none are; half-configured is an error naming what is missing."""
    present = [n for n in names if os.environ.get(n, "").strip()]
    if present and len(present) < len(names):
        missing = ", ".join(n for n in names if n not in present)
        raise IntegrationConfigError(f"{what} is half configured: set {missing} too (or unset {', '.join(present)})")
    return bool(present)


def _hubspot() -> HubSpotSettings | None:
    if not _require(["HUBSPOT_ACCESS_TOKEN", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_WEBHOOK_URL"], "HubSpot"):
        return None
    source = _env("HUBSPOT_ROLE_SOURCE", "property")
    if source not in ROLE_SOURCES:
        raise IntegrationConfigError(f"HUBSPOT_ROLE_SOURCE: expected property or label, got {source!r}")
    return HubSpotSettings(
        access_token=_env("HUBSPOT_ACCESS_TOKEN", ""),
        client_secret=_env("HUBSPOT_CLIENT_SECRET", ""),
        webhook_url=_env("HUBSPOT_WEBHOOK_URL", ""),
        closed_won=_stages("HUBSPOT_CLOSED_WON_STAGES", _env("HUBSPOT_CLOSED_WON_STAGES", "default:closedwon")),
        api_url=_env("HUBSPOT_API_URL", "https://api.hubapi.com").rstrip("/"),
        role_source=source,
        role_property=_env("HUBSPOT_ROLE_PROPERTY", "onboarding_role"),
        acv_property=_env("HUBSPOT_ACV_PROPERTY", "amount"),
        success_property=_env("HUBSPOT_SUCCESS_PROPERTY", "success_criteria"),
        phase_property=_env("HUBSPOT_PHASE_PROPERTY", "onboarding_phase"),
        status_property=_env("HUBSPOT_STATUS_PROPERTY", "onboarding_status"),
    )


def _salesforce() -> SalesforceSettings | None:
    org = os.environ.get("SALESFORCE_ORGANIZATION_ID", "").strip()
    if not org:
        return None
    if len(org) not in (15, 18) or not org.isalnum() or not org.startswith("00D"):
        raise IntegrationConfigError(
            "SALESFORCE_ORGANIZATION_ID: expected the org's 15 or 18 character id starting with 00D "
            "(Setup > Company Information)"
        )
    return SalesforceSettings(org, _env("SALESFORCE_CLOSED_WON_STAGE", "Closed Won"))


def _slack() -> SlackSettings | None:
    if not _require(["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_CHANNEL"], "Slack"):
        return None
    per_segment: dict[str, str] = {}
    for segment, name in SEGMENT_CHANNELS.items():
        channel = _env(name, "")
        if channel:
            per_segment[segment] = channel
    api_url = _env("SLACK_API_URL", "https://slack.com/api/")
    return SlackSettings(
        bot_token=_env("SLACK_BOT_TOKEN", ""),
        signing_secret=_env("SLACK_SIGNING_SECRET", ""),
        channel=_env("SLACK_CHANNEL", ""),
        segment_channels=per_segment,
        api_url=api_url if api_url.endswith("/") else api_url + "/",
    )
