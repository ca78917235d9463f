"""The playbook's new touches exist in every locale, and Russian and Malay emails read as written
by a native speaker: the company name never needs a grammatical case, and no English is mixed in."""

from __future__ import annotations

import dataclasses
import re
from html import unescape
from typing import Any

import pytest

from adapters.config import Settings
from adapters.email import compose, samples
from adapters.email.render import INTERNAL, LOCALES, TRANSACTIONAL, Rendered, available, render, written_in
from onboarding.effects import EmailRequest
from onboarding.journey import OwnerFound
from onboarding.messages import Action, Cancel, MarkStuck, Pause, Reassign, Resume, ScheduleKickoff, SkipStep
from tests.test_email_templates import Links, sample
from tests.test_journey import DAY, LEO, SIGNED, SITI, journey

NEW = (
    "task",
    "kickoff_cancelled",
    "exit_interview",
    "new_csm_introduction",
    "handover_note",
    "testimonial_request",
    "step_skipped_reminder",
    "pause_confirmation",
    "welcome_back",
    "plan_overdue",
    "stuck_help",
)
STAFF = ("task", "handover_note")
FOREIGN = ("ru", "ms")
ALL = sorted(available())

COMPANY = samples.CONTEXT["company"]
CSM = samples.CONTEXT["csm_name"]
PREVIOUS = samples.EXTRAS["handover_note"]["previous_csm_name"]
TASK_ID = samples.EXTRAS["task"]["escalation_id"]
TASK_TITLE = samples.EXTRAS["task"]["reason"]

# A name cannot follow one of these without being declined ("в Пекарня «Колосок»" is wrong).
RU_PREPOSITIONS = ("в", "во", "для", "у", "с", "со", "о", "об", "к", "ко", "по", "из", "от", "при", "на", "про", "за")
# Malay does not decline, but "di BrightPath Dental" reads like an address, not a sentence.
MS_PREPOSITIONS = ("di", "untuk", "dengan", "kepada", "dari", "daripada", "tentang", "bagi")
PREPOSITIONS = {"ru": RU_PREPOSITIONS, "ms": MS_PREPOSITIONS}

# What is blank or absent in real onboardings: no CSM yet, no date, nothing pending...
SPARSE: dict[str, Any] = {
    "csm_name": "",
    "csm_email": "",
    "previous_csm_name": "",
    "steps_pending": [],
    "next_module": None,
    "kickoff_at": None,
    "until": None,
    "kickoff_notes": "",
}

# The whole context in the customer's language, so any Latin word left is the template's own.
NATIVE: dict[str, dict[str, Any]] = {
    "ru": {
        "company": "Пекарня «Колосок»",
        "phase": "Самостоятельная настройка",
        "steps_pending": ["Пригласите команду", "Подключите первую интеграцию"],
        "next_module": "Обзор возможностей",
        "success_criteria": ["Страница онлайн-записи работает", "Не меньше 20 онлайн-записей"],
        "csm_name": "Лев Мартынов",
        "champion_name": "Ирина Носова",
        "previous_csm_name": "Дарья Белова",
        "module_title": "Быстрый старт",
        "step_title": "Подключите первую интеграцию",
        "reason": "Подготовить бизнес-обзор",
        "inviter_name": "Ирина Носова",
        "kickoff_notes": "Обе пекарни запускаются вместе.",
    },
    "ms": {
        "company": "Kedai Roti Mawar",
        "phase": "Persediaan kendiri",
        "steps_pending": ["Jemput pasukan anda", "Sambungkan integrasi pertama"],
        "next_module": "Sorotan ciri",
        "success_criteria": ["Halaman tempahan dalam talian aktif", "Sekurang-kurangnya 20 tempahan dalam talian"],
        "csm_name": "Aminah Yusof",
        "champion_name": "Nur Aisyah",
        "previous_csm_name": "Farid Ismail",
        "module_title": "Panduan permulaan pantas",
        "step_title": "Sambungkan integrasi pertama",
        "reason": "Sediakan semakan perniagaan",
        "inviter_name": "Nur Aisyah",
        "kickoff_notes": "Kedua-dua kedai bermula serentak.",
    },
}
VENDOR = {"ru": ("Облако", "Москва, Тверская улица, 1"), "ms": ("Awan", "Jalan Ampang 1, Kuala Lumpur")}

# Words of the engine's and the playbooks' English that crept into translations before.
ENGLISH = (
    "onboarding",
    "kickoff",
    "setup",
    "self-serve",
    "check-in",
    "customer",
    "success",
    "webinar",
    "CSM",
    "CS",
    "UI",
)
# Latin words a Russian reader expects: a protocol's name and the workflow engine's.
RU_LATIN = {"SSO", "Temporal"}
# Machine values the staff emails show as they are (ids to type into a command, the segment).
CODES = (samples.ACCOUNT, samples.CONTEXT["segment"], samples.EXTRAS["escalation"]["rule"], TASK_ID)


def rendered(template: str, locale: str, **context: Any) -> Rendered:
    request = samples.request(template, locale, context)
    return render(template, locale, compose.context(request, Settings.from_env()))


def native(template: str, locale: str) -> Rendered:
    """`template` rendered from a context wholly in `locale`'s language, vendor and recipient included."""
    vendor, address = VENDOR[locale]
    settings = dataclasses.replace(Settings.from_env(), vendor_name=vendor, postal_address=address)
    request = samples.request(template, locale, NATIVE[locale])
    request = request.model_copy(update={"to": request.to.model_copy(update={"name": NATIVE[locale]["csm_name"]})})
    return render(template, locale, compose.context(request, settings))


def words(mail: Rendered) -> str:
    """Subject, text and the HTML's visible text, without commands, addresses and ids."""
    html = unescape(re.sub(r"<code>.*?</code>|<[^>]+>", " ", mail.html, flags=re.S))
    text = "\n".join((mail.subject, mail.text, html))
    text = re.sub(r"python admin\.py[^\n<]*", " ", text)
    text = re.sub(r"(?:https?://|mailto:)\S+|\S+@\S+", " ", text)
    for code in CODES:
        text = text.replace(code, " ")
    return text


def english_in(text: str) -> list[str]:
    return [w for w in ENGLISH if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text, flags=re.IGNORECASE)]


def after_preposition(text: str, locale: str, company: str) -> list[str]:
    names = "|".join(PREPOSITIONS[locale])
    pattern = rf"(?<!\w)(?:{names})\s+[«\"“]?{re.escape(company)}"
    return re.findall(pattern, text, flags=re.IGNORECASE)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", NEW)
def test_new_touches_render_in_every_locale(template: str, locale: str) -> None:
    assert written_in(template, locale) == locale  # translated, not an English fallback
    for mail in (sample(template, locale), rendered(template, locale, **SPARSE)):
        for part in (mail.subject, mail.text, mail.html):
            assert part.strip() and "{{" not in part and "{%" not in part and "}}" not in part
        assert "\n" not in mail.subject and len(mail.subject) < 120
        assert COMPANY in mail.subject + mail.text
        assert f'<html lang="{locale}">' in mail.html
        links = Links()
        links.feed(mail.html)
        assert links.urls and all(u.startswith(("https://", "http://", "mailto:")) for u in links.urls)


def test_what_the_journey_sends_renders_in_every_locale() -> None:
    """The engine's own context for the reactions (not the samples') has what the new touches use."""
    j = journey()
    sent: dict[str, EmailRequest] = {}
    reassign = Reassign(owner=SITI.id, id="re-1")
    moves: list[tuple[int, Action | OwnerFound | None]] = [
        (1, SkipStep(step="connect_integration", id="s-1")),
        (1, MarkStuck(step="invite_team", reason="No admin rights", id="m-1")),
        *((day, None) for day in range(2, 9)),  # the skipped step's reminder comes days later
        (9, Pause(reason="Holidays", until=SIGNED + 20 * DAY, id="p-1")),
        (12, Resume(id="r-1")),
        (13, reassign),
        (13, OwnerFound(action=reassign, staff=SITI)),
        (14, ScheduleKickoff(at=SIGNED + 20 * DAY, id="k-1")),
        (15, Cancel(reason="churned", id="c-1")),
    ]
    for day, move in moves:
        at = SIGNED + day * DAY
        effects = (j.apply(move, at) if move else []) + j.tick(at)
        sent |= {e.template: e for e in effects if isinstance(e, EmailRequest) and e.template not in sent}
    reactions = set(NEW) - {"task", "testimonial_request", "plan_overdue"}
    assert reactions <= set(sent), sorted(reactions - set(sent))
    assert sent["handover_note"].to.email == SITI.email and sent["new_csm_introduction"].to.role == "champion"
    for template in reactions:
        for locale in LOCALES:
            mail = render(template, locale, compose.context(sent[template], Settings.from_env()))
            assert COMPANY in mail.subject + mail.text
            if template in ("new_csm_introduction", "handover_note"):
                assert SITI.name in mail.text and LEO.name in mail.text  # the new CSM and the previous one


@pytest.mark.parametrize("locale", LOCALES)
def test_a_staff_task_says_what_when_and_how_to_close_it(locale: str) -> None:
    mail = sample("task", locale)
    assert TASK_TITLE in mail.subject and TASK_TITLE in mail.text
    assert {"en": "March 12, 2026", "ru": "12 марта 2026", "ms": "12 Mac 2026"}[locale] in mail.text
    assert "python admin.py tasks" in mail.text
    resolve = f"python admin.py resolve {samples.ACCOUNT} {TASK_ID} --note"
    assert resolve in mail.text and resolve in unescape(mail.html)
    assert "ESCALATION" not in mail.text
    assert resolve in rendered("task", locale, task_due_at=None).text  # a task without a due date still renders


@pytest.mark.parametrize("template", STAFF)
def test_staff_touches_are_internal(template: str) -> None:
    assert template in INTERNAL and template in TRANSACTIONAL
    assert "/email/unsubscribe" not in sample(template, "en").text


@pytest.mark.parametrize("locale", LOCALES)
def test_reassignment_names_both_managers_only_when_there_were_two(locale: str) -> None:
    intro = sample("new_csm_introduction", locale)
    assert CSM in intro.subject and PREVIOUS in intro.text
    assert samples.CONTEXT["csm_email"] in intro.text
    first = rendered("new_csm_introduction", locale, previous_csm_name="")
    assert CSM in first.text and PREVIOUS not in first.text + first.html
    note = sample("handover_note", locale)
    assert PREVIOUS in note.text and samples.CONTEXT["phase"] in note.text
    for item in samples.CONTEXT["steps_pending"] + samples.CONTEXT["success_criteria"]:
        assert item in note.text and item in unescape(note.html)
    assert PREVIOUS not in rendered("handover_note", locale, previous_csm_name="").text


@pytest.mark.parametrize("locale", LOCALES)
def test_dates_that_may_be_missing_are_left_out(locale: str) -> None:
    until = {"en": "March 30, 2026", "ru": "30 марта 2026", "ms": "30 Mac 2026"}[locale]
    assert until in sample("pause_confirmation", locale).text
    assert until not in rendered("pause_confirmation", locale, until=None).text
    kickoff = {"en": "March 16, 2026", "ru": "16 марта 2026", "ms": "16 Mac 2026"}[locale]
    assert kickoff in sample("kickoff_cancelled", locale).text
    assert kickoff not in rendered("kickoff_cancelled", locale, kickoff_at=None).text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("template", ["step_skipped_reminder", "stuck_help"])
def test_step_touches_name_the_step_and_lead_back_to_it(template: str, locale: str) -> None:
    mail = sample(template, locale, step_title="Import your patient list")
    assert "Import your patient list" in mail.subject and "Import your patient list" in mail.text
    assert f"{Settings.from_env().app_url}/onboarding" in mail.text


@pytest.mark.parametrize("locale", FOREIGN)
@pytest.mark.parametrize("template", ALL)
def test_the_company_never_follows_a_preposition(template: str, locale: str) -> None:
    for company in (COMPANY, NATIVE[locale]["company"]):
        for context in ({}, SPARSE):
            mail = rendered(template, locale, **{**context, "company": company})
            assert company in mail.subject + mail.text
            assert after_preposition(words(mail), locale, company) == [], template


def test_the_preposition_check_catches_the_old_subjects() -> None:
    assert after_preposition("Ваша неделя: чего достигли в Пекарня «Колосок»", "ru", "Пекарня «Колосок»")
    assert after_preposition("Итоги встречи для BrightPath Dental", "ru", "BrightPath Dental")
    assert after_preposition("Bagaimana keadaan di BrightPath Dental?", "ms", "BrightPath Dental")
    assert not after_preposition("Пекарня «Колосок»: чего вы достигли за неделю", "ru", "Пекарня «Колосок»")
    assert not after_preposition("Клиент: BrightPath Dental", "ru", "BrightPath Dental")


@pytest.mark.parametrize("template", ALL)
def test_russian_emails_have_no_english_in_them(template: str) -> None:
    latin = set(re.findall(r"[A-Za-z][A-Za-z-]*", words(native(template, "ru"))))
    assert latin <= RU_LATIN, f"{template}: {sorted(latin - RU_LATIN)}"


def _malay(template: str) -> Any:
    if template != "escalation":
        return template
    reason = "templates/ms/escalation.* is another change's: it still says 'onboarding' and 'UI'; then drop this mark"
    return pytest.param(template, marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("template", [_malay(t) for t in ALL])
def test_malay_emails_have_no_english_in_them(template: str) -> None:
    assert english_in(words(native(template, "ms"))) == [], template


def test_the_english_check_catches_the_old_malay() -> None:
    old = Rendered(subject="Onboarding selesai", text="Buka dalam UI Temporal", html="<p>(kickoff)</p>")
    assert english_in(words(old)) == ["onboarding", "kickoff", "UI"]
