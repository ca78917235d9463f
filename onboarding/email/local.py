"""The local outbox backend: each email becomes an .eml file a person can open in a mail client."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path

from onboarding.email.compose import OutgoingEmail


def eml_path(outbox_dir: Path, key: str) -> Path:
    return outbox_dir / (key.replace("/", "__").replace(":", "_") + ".eml")


class LocalOutbox:
    name = "outbox"
    resend_is_safe = True  # the file is named by the key: writing it again replaces it

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def deliver(self, email: OutgoingEmail) -> str:
        """Write (or rewrite, on a retry) the .eml; its file name is the message id."""
        msg = EmailMessage()
        msg["From"] = formataddr((email.sender.name, email.sender.email))
        msg["To"] = formataddr((email.to.name, email.to.email))
        if email.reply_to:
            msg["Reply-To"] = formataddr((email.reply_to.name, email.reply_to.email))
        msg["Subject"] = email.content.subject
        msg["X-Onboarding-Key"] = email.key
        if email.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(email.content.text)
        msg.add_alternative(email.content.html, subtype="html")
        path = eml_path(self.outbox_dir, email.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(bytes(msg))
        tmp.replace(path)
        return path.name
