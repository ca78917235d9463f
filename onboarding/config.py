"""Settings from the environment, with the embedded defaults for a laptop."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
TASK_QUEUE = "onboarding"


@dataclass(frozen=True)
class Settings:
    database_url: str
    email_backend: str
    outbox_dir: Path
    ui_url: str
    staff_file: Path
    email_from: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            database_url=env("DATABASE_URL", f"sqlite:///{LOCAL / 'onboarding.db'}"),
            email_backend=env("EMAIL_BACKEND", "outbox"),
            outbox_dir=Path(env("OUTBOX_DIR", str(LOCAL / "outbox"))),
            ui_url=env("TEMPORAL_UI_URL", "http://localhost:8233").rstrip("/"),
            staff_file=Path(env("STAFF_FILE", str(ROOT / "staff.yaml"))),
            email_from=env("EMAIL_FROM", "Onboarding Team <onboarding@vendor.example>"),
        )

    def run_url(self, workflow_id: str, namespace: str = "default") -> str:
        return f"{self.ui_url}/namespaces/{namespace}/workflows/{workflow_id}"
