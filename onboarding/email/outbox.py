"""The local outbox: each email is a database row plus an .eml file a person can open."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from onboarding.email.render import Rendered


def eml_path(outbox_dir: Path, key: str) -> Path:
    return outbox_dir / (key.replace("/", "__").replace(":", "_") + ".eml")


def write_eml(outbox_dir: Path, key: str, sender: str, to_name: str, to_email: str, mail: Rendered) -> Path:
    """Write (or rewrite, on a retry) the .eml for one outbox row; the path is the message id."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((to_name, to_email))
    msg["Subject"] = mail.subject
    msg["X-Onboarding-Key"] = key
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    path = eml_path(outbox_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(msg))
    tmp.replace(path)
    return path
