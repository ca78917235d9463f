"""Settings from the environment, with the embedded defaults for a laptop.

pydantic-settings reads and checks the variables (`Environment`); `Settings` is what the engine
passes around: a frozen dataclass, so a test or a tool can `dataclasses.replace` one field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
TASK_QUEUE = "onboarding"
EMAIL_BACKENDS = ("outbox", "sendgrid")
DEV_LINK_SECRET = "local-development-only"  # signs unsubscribe links on a laptop; refused with SendGrid


class Environment(BaseSettings):
    """The variables, read and checked by pydantic-settings; unset or empty means the default."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", populate_by_name=False)

    database_url: str = f"sqlite:///{LOCAL / 'onboarding.db'}"
    email_backend: Literal["outbox", "sendgrid"] = "outbox"
    outbox_dir: Path = LOCAL / "outbox"
    ui_url: str = Field("http://localhost:8233", validation_alias="TEMPORAL_UI_URL")
    staff_file: Path = ROOT / "staff.yaml"
    email_from: str = "Onboarding Team <onboarding@vendor.example>"
    vendor_name: str = "Vendor Inc."
    postal_address: str = Field(
        "100 Market Street, Suite 300, San Francisco, CA 94105, USA", validation_alias="EMAIL_POSTAL_ADDRESS"
    )
    app_url: str = "https://app.vendor.example"
    unsubscribe_url: str = Field("http://localhost:8000/email/unsubscribe", validation_alias="EMAIL_UNSUBSCRIBE_URL")
    email_link_secret: str = DEV_LINK_SECRET
    sendgrid_api_key: str = ""
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout: float = Field(10.0, gt=0)
    sendgrid_sandbox: bool = False
    sendgrid_unsubscribe_group: int | None = Field(None, ge=0)
    sendgrid_webhook_public_key: str = ""
    email_confirm_window: float = Field(600.0, gt=0)

    @field_validator("ui_url", "app_url", "sendgrid_host")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")


# What each checked variable expects, in the words its error gives.
EXPECTED = {
    "email_backend": f"one of {', '.join(EMAIL_BACKENDS)}",
    "sendgrid_timeout": "a positive number of seconds",
    "email_confirm_window": "a positive number of seconds",
    "sendgrid_sandbox": "true or false",
    "sendgrid_unsubscribe_group": "a SendGrid unsubscribe group id (a number)",
}


def variable(field_name: str) -> str:
    alias = Environment.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else field_name.upper()


def described(error: ValidationError) -> str:
    """'SENDGRID_TIMEOUT: expected a positive number of seconds, got 'soon'', one line per variable."""
    lines = []
    for e in error.errors():
        name = str(e["loc"][0]) if e["loc"] else ""
        field_name = next((f for f in Environment.model_fields if variable(f) == name.upper() or f == name), name)
        lines.append(f"{variable(field_name)}: expected {EXPECTED.get(field_name, e['msg'])}, got {e['input']!r}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Settings:
    database_url: str
    email_backend: str
    outbox_dir: Path
    ui_url: str
    staff_file: Path
    email_from: str
    # Email (templates, SendGrid, unsubscribe links): see adapters/email/.
    vendor_name: str
    postal_address: str
    app_url: str
    unsubscribe_url: str
    email_link_secret: str = field(repr=False)
    sendgrid_api_key: str = field(repr=False)
    sendgrid_host: str
    sendgrid_timeout: float
    sendgrid_sandbox: bool
    sendgrid_unsubscribe_group: int | None
    sendgrid_webhook_public_key: str
    email_confirm_window: timedelta

    @classmethod
    def from_env(cls) -> Settings:
        """The settings the environment gives; a bad value raises ValueError naming each variable."""
        try:
            env = Environment()
        except ValidationError as e:
            raise ValueError(described(e)) from None
        values = env.model_dump()
        return cls(**values | {"email_confirm_window": timedelta(seconds=env.email_confirm_window)})

    def run_url(self, workflow_id: str, namespace: str = "default") -> str:
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow_id}"
