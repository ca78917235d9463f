"""The local outbox's .eml, read back the way a mail client reads it: every header and both
parts exactly as rendered, in every locale, with names and links that need encoding or are long."""

from __future__ import annotations

from dataclasses import replace
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from adapters.config import Settings
from adapters.email import compose, samples
from adapters.email.local import LocalOutbox, eml_path
from adapters.email.render import LOCALES, render
from onboarding.effects import Recipient


@pytest.mark.parametrize("locale", LOCALES)
def test_an_eml_reads_back_as_rendered(tmp_path: Path, locale: str) -> None:
    settings = replace(Settings.from_env(), outbox_dir=tmp_path)
    request = samples.request("setup_day1", locale).model_copy(
        update={"to": Recipient(role="champion", name='Анна "Аня", Иванова-Смит', email="anna@brightpath.example")}
    )
    content = render(request.template, locale, compose.context(request, settings))
    email = compose.outgoing(request, settings, content)
    assert email.unsubscribe_url and len(email.unsubscribe_url) > 78, "long enough to be folded if it could be"

    name = LocalOutbox(tmp_path).deliver(email)

    path = eml_path(tmp_path, request.key)
    assert name == path.name
    mail = message_from_bytes(path.read_bytes(), policy=default)
    assert mail["To"].addresses[0].display_name == 'Анна "Аня", Иванова-Смит'
    assert mail["To"].addresses[0].addr_spec == "anna@brightpath.example"
    assert mail["Subject"] == content.subject
    assert mail["X-Onboarding-Key"] == request.key
    assert mail["List-Unsubscribe"] == f"<{email.unsubscribe_url}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.reply_to and mail["Reply-To"].addresses[0].addr_spec == email.reply_to.email
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == content.text
    assert html.get_content() == content.html.replace("\r\n", "\n")
