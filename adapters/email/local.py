"""The local outbox backend: each email becomes an .eml file a person can open in a mail client.

The message is built with the stdlib's compat32 MIME classes: they write the same
multipart/alternative message as `EmailMessage` does, in a third of the CPU (its header
registry parses every header it is given; docs/benchmarks.md has the measurement).
"""

from __future__ import annotations

from email.charset import QP, Charset
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr
from pathlib import Path

from adapters.email.compose import Address, OutgoingEmail

UTF8 = Charset("utf-8")
UTF8.header_encoding = UTF8.body_encoding = QP  # readable in a text editor, unlike base64
UNFOLDED = compat32.clone(max_line_length=998)  # RFC 5322's limit: a long unsubscribe link stays on one line


def eml_path(outbox_dir: Path, key: str) -> Path:
    return outbox_dir / (key.replace("/", "__").replace(":", "_") + ".eml")


def _address(who: Address) -> str:
    return formataddr((who.name, who.email), UTF8)


class LocalOutbox:
    name = "outbox"
    resend_is_safe = True  # the file is named by the key: writing it again replaces it

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def deliver(self, email: OutgoingEmail) -> str:
        """Write (or rewrite, on a retry) the .eml; its file name is the message id."""
        body = MIMEMultipart("alternative")
        msg = MIMEMultipart("mixed") if email.calendar else body
        msg["From"] = _address(email.sender)
        msg["To"] = _address(email.to)
        if email.reply_to:
            msg["Reply-To"] = _address(email.reply_to)
        msg["Subject"] = Header(email.content.subject, UTF8)  # type: ignore[assignment]  # documented use
        msg["X-Onboarding-Key"] = email.key
        if email.unsubscribe_url:
            msg["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        # Charset instances are documented (3.5+); typeshed says str only.
        body.attach(MIMEText(email.content.text, "plain", UTF8))  # type: ignore[arg-type]
        body.attach(MIMEText(email.content.html, "html", UTF8))  # type: ignore[arg-type]
        if email.calendar:  # the invitation inline (mail apps show Accept/Decline) and as a file
            msg.attach(body)
            inline = MIMEText(email.calendar.data.decode("utf-8"), "calendar", "utf-8")
            inline.set_param("method", email.calendar.method)
            body.attach(inline)
            attached = MIMEApplication(email.calendar.data, "ics", name=email.calendar.filename)
            attached.add_header("Content-Disposition", "attachment", filename=email.calendar.filename)
            msg.attach(attached)
        path = eml_path(self.outbox_dir, email.key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msg.as_bytes(policy=UNFOLDED))
        tmp.replace(path)
        return path.name
