"""Settings from the environment, with the embedded defaults for a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
TASK_QUEUE = "onboarding"
EMAIL_BACKENDS = ("outbox", "sendgrid")
DEV_LINK_SECRET = "local-development-only"  # signs unsubscribe links on a laptop; refused with SendGrid


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name}: expected a positive number of seconds, got {raw!r}")
    return value


def _flag(name: str) -> bool:
    raw = os.environ.get(name, "false").strip().lower()
    if raw not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"{name}: expected true or false, got {raw!r}")
    return raw in ("true", "1", "yes")


def _group(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValueError(f"{name}: expected a SendGrid unsubscribe group id (a number), got {raw!r}")
    return int(raw)


def _backend(name: str) -> str:
    raw = os.environ.get(name, "outbox")
    if raw not in EMAIL_BACKENDS:
        raise ValueError(f"{name}: expected one of {', '.join(EMAIL_BACKENDS)}, got {raw!r}")
    return raw


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
        env = os.environ.get
        return cls(
            database_url=env("DATABASE_URL", f"sqlite:///{LOCAL / 'onboarding.db'}"),
            email_backend=_backend("EMAIL_BACKEND"),
            outbox_dir=Path(env("OUTBOX_DIR", str(LOCAL / "outbox"))),
            ui_url=env("TEMPORAL_UI_URL", "http://localhost:8233").rstrip("/"),
            staff_file=Path(env("STAFF_FILE", str(ROOT / "staff.yaml"))),
            email_from=env("EMAIL_FROM", "Onboarding Team <onboarding@vendor.example>"),
            vendor_name=env("VENDOR_NAME", "Vendor Inc."),
            postal_address=env("EMAIL_POSTAL_ADDRESS", "100 Market Street, Suite 300, San Francisco, CA 94105, USA"),
            app_url=env("APP_URL", "https://app.vendor.example").rstrip("/"),
            unsubscribe_url=env("EMAIL_UNSUBSCRIBE_URL", "http://localhost:8000/email/unsubscribe"),
            email_link_secret=env("EMAIL_LINK_SECRET", DEV_LINK_SECRET),
            sendgrid_api_key=env("SENDGRID_API_KEY", ""),
            sendgrid_host=env("SENDGRID_HOST", "https://api.sendgrid.com").rstrip("/"),
            sendgrid_timeout=_number("SENDGRID_TIMEOUT", 10.0),
            sendgrid_sandbox=_flag("SENDGRID_SANDBOX"),
            sendgrid_unsubscribe_group=_group("SENDGRID_UNSUBSCRIBE_GROUP"),
            sendgrid_webhook_public_key=env("SENDGRID_WEBHOOK_PUBLIC_KEY", ""),
            email_confirm_window=timedelta(seconds=_number("EMAIL_CONFIRM_WINDOW", 600.0)),
        )

    def run_url(self, workflow_id: str, namespace: str = "default") -> str:
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow_id}"
