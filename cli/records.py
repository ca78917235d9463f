"""`admin.py staff ...` (the roster, load against capacity) and `admin.py report` (the KPIs).

Both read and write the engine's database (DATABASE_URL); `python admin.py db upgrade` first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from adapters import staff
from adapters.config import Settings
from adapters.db import Staff, engine
from adapters.staff import Person, RosterError, StaffRole
from cli.common import fail
from cli.summary import table
from onboarding.models import SEGMENTS, Segment, problems
from reports import figures, kpi, participation, report_page, variants
from reports.words import SEGMENT_NAMES, plural

staff_app = typer.Typer(
    help="The CS team: who serves which segments, load against capacity. Without a command: the list.",
    invoke_without_command=True,
)


@contextlib.contextmanager
def database() -> Iterator[Session]:
    """A session on the configured database, with a plain message when it is missing or old."""
    try:
        with Session(engine(Settings.from_env().database_url)) as db:
            yield db
    except (OperationalError, ProgrammingError) as e:
        fail(f"cannot read the engine's database ({e.orig}); run `python admin.py db upgrade` first")


def checked(data: dict[str, object]) -> Person:
    try:
        return Person.model_validate(data)
    except ValidationError as e:
        fail("\n".join(problems(e)), code=2)


# ---- staff ---------------------------------------------------------------------------------


def roster(people: list[Staff], load: dict[str, int]) -> str:
    rows = []
    for p in people:
        n = load.get(p.id, 0)
        note = "inactive" if not p.active else "OVER CAPACITY" if n > p.capacity else "full" if n == p.capacity else ""
        rows.append([p.id, p.role, ",".join(p.segments), f"{n}/{p.capacity}", note])
    return table(["ID", "ROLE", "SEGMENTS", "LOAD", "NOTE"], rows, right={3})


@staff_app.callback()
def staff_list(ctx: typer.Context) -> None:
    """Everyone on the roster with active onboardings against capacity.

    Example: python admin.py staff
    """
    if ctx.invoked_subcommand is not None:
        return
    with database() as db:
        people, load = staff.everyone(db), staff.loads(db)
    if not people:
        typer.echo("The roster is empty. Fill it with: python admin.py staff import staff.yaml")
        return
    typer.echo(roster(people, load))


@staff_app.command("add")
def staff_add(
    staff_id: Annotated[str, typer.Argument(metavar="ID", help="Staff id, e.g. csm-ana.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    email: Annotated[str, typer.Option(help="Work email; escalations and hand-overs go there.")],
    role: Annotated[StaffRole, typer.Option(help="csm, implementation_specialist or cs_manager.")],
    segment: Annotated[list[str], typer.Option(help="A segment they serve: smb, mid_market, enterprise; repeatable.")],
    capacity: Annotated[
        int, typer.Option(help="Active onboardings at once: CSM 8-15 high-touch, 40-80 low-touch; specialist 8-15.")
    ],
) -> None:
    """Add a person to the roster.

    Example: python admin.py staff add csm-ana --name "Ana Lima" --email ana@vendor.example --role csm
    --segment mid_market --segment smb --capacity 50
    """
    person = checked(
        {"id": staff_id, "name": name, "email": email, "role": role, "segments": segment, "capacity": capacity}
    )
    with database() as db:
        if db.get(Staff, person.id) is not None:
            fail(f"id: {person.id} is already on the roster; change them with `python admin.py staff set`", code=2)
        staff.save(db, [person])
        db.commit()
    typer.echo(f"added {person.id} ({person.role}, {', '.join(person.segments)}, capacity {person.capacity})")


@staff_app.command("set")
def staff_set(
    staff_id: Annotated[str, typer.Argument(metavar="ID", help="Staff id.")],
    name: Annotated[str | None, typer.Option(help="Full name.")] = None,
    email: Annotated[str | None, typer.Option(help="Work email.")] = None,
    role: Annotated[StaffRole | None, typer.Option(help="csm, implementation_specialist or cs_manager.")] = None,
    segment: Annotated[list[str] | None, typer.Option(help="Segments they serve (replaces the list).")] = None,
    capacity: Annotated[int | None, typer.Option(help="Active onboardings at once.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Inactive people get no new work.")] = None,
) -> None:
    """Change a person: capacity, segments, role, contact, or take them off new assignments.

    Example: python admin.py staff set is-omar --capacity 12
    """
    changes = {"name": name, "email": email, "role": role, "segments": segment, "capacity": capacity, "active": active}
    with database() as db:
        row = db.get(Staff, staff_id)
        if row is None:
            fail(f"id: nobody with id {staff_id!r} on the roster; add them with `python admin.py staff add`", code=2)
        person = checked(row.model_dump() | {k: v for k, v in changes.items() if v is not None})
        staff.save(db, [person])
        db.commit()
    typer.echo(f"changed {person.id} ({person.role}, {', '.join(person.segments)}, capacity {person.capacity})")


@staff_app.command("import")
def staff_import(
    file: Annotated[Path | None, typer.Argument(help="Roster YAML; default STAFF_FILE or staff.yaml.")] = None,
) -> None:
    """Add or change everyone in a roster file; people not in the file stay as they are.

    The whole file is checked first: one bad entry and nobody is imported.
    Example: python admin.py staff import staff.yaml
    """
    path = file or Settings.from_env().staff_file
    try:
        roster = staff.load(path)
    except RosterError as e:
        fail(str(e), code=2)
    with database() as db:
        known = {p.id for p in staff.everyone(db)}
        staff.save(db, roster.people)
        db.commit()
    new = sum(p.id not in known for p in roster.people)
    everyone = plural(len(roster.people), "person", "people")
    typer.echo(f"imported {everyone} from {path}: {new} new, {len(roster.people) - new} updated")


# ---- report --------------------------------------------------------------------------------


def pct(rate: figures.Rate) -> str:
    return "n/a" if rate.percent is None else f"{rate.percent:g}% ({rate.count}/{rate.of})"


def num(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def days(value: float | None) -> str:
    return num(value, " d")


def text_report(r: kpi.Report) -> str:
    t = r.totals
    segments = [
        [
            SEGMENT_NAMES[s.segment],
            str(s.counts.started),
            str(s.counts.completed),
            pct(s.counts.completion),
            str(s.counts.within_length),
            days(s.ttfv_median_days),
            days(s.ttfv_p90_days),
            pct(s.activation),
        ]
        for s in r.segments
    ]
    lengths = ", ".join(f"{SEGMENT_NAMES[s]} {plural(figures.standard_length(s).days, 'day')}" for s in SEGMENTS)
    out = [
        f"Onboarding report, {SEGMENT_NAMES[r.segment] if r.segment else 'all segments'}"
        + (f", signed since {r.since:%Y-%m-%d}" if r.since else "")
        + f" (as of {r.as_of:%Y-%m-%d %H:%M} UTC)",
        f"started {t.started}  active {t.active}  paused {t.paused}  completed {t.completed}  cancelled {t.cancelled}",
        f"completion {pct(t.completion)} of the onboardings past their standard length"
        f" ({lengths});"
        f" {plural(t.within_length, 'onboarding')} still within it, not counted",
        "",
        table(
            ["SEGMENT", "STARTED", "DONE", "COMPLETION", "WITHIN LENGTH", "TTFV MEDIAN", "TTFV P90", "ACTIVATION"],
            segments,
            right={1, 2, 3, 4, 5, 6},
        ),
    ]
    out += ["", "Time in each phase (mean, finished phases):"]
    out += [
        f"  {SEGMENT_NAMES[s.segment]}/{p.phase}: {days(p.mean_days)} over {plural(p.finished, 'onboarding')}"
        for s in r.segments
        for p in s.phases
    ]
    out += ["", f"Escalation rate {pct(r.escalations)}; most common reasons:"]
    out += [f"  {c.count} x {c.reason}" for c in r.top_reasons]
    st = r.staff_tasks
    done = f"{st.done} done ({st.done_on_time} on time)"
    out += [f"Staff tasks: {st.opened} opened, {done}, {st.open} open, {st.overdue} overdue"]
    sv = r.survey
    out += [
        f"Automation rate {pct(r.automation)} of customer touches",
        f"Survey: {plural(sv.answers, 'answer')}, goal reached {pct(sv.goal_reached)}, CSAT {num(sv.csat_average)}"
        f" (satisfied {pct(sv.csat_satisfied)}), CES {num(sv.ces_average)}",
        "",
        f"At risk ({len(r.at_risk)}):",
    ]
    out += [
        f"  {a.account_id} [{SEGMENT_NAMES.get(a.segment, a.segment)}] owner {a.owner}, {a.health}: {a.reason}"
        for a in r.at_risk
    ]
    out += ["", "Load against capacity:"]
    people = [[p.staff_id, p.role, f"{p.load}/{p.capacity}"] for p in r.people]
    out += ["  " + line for line in table(["ID", "ROLE", "LOAD"], people, right={2}).splitlines()] if people else []
    out += ["", "Capacity forecast (at the pace of the period):"]
    out += [f"  {f.sentence()}" for f in r.forecast]
    out += ["", *participation.lines(r.participation)]
    out += variants.lines(r.variants)
    return "\n".join(out)


def report(
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only onboardings signed on or after this date.")
    ] = None,
    segment: Annotated[Segment | None, typer.Option(help="Only this segment: smb, mid_market or enterprise.")] = None,
    format: Annotated[Literal["table", "json", "html"], typer.Option(help="table, json or html.")] = "table",
) -> None:
    """Onboarding KPIs from what the engine recorded: completion, time to first value, activation,
    escalations, automation, CSAT/CES, at-risk accounts, load and a capacity forecast.

    Example: python admin.py report --since 2026-01-01 --segment mid_market --format html > report.html
    """
    now = datetime.now(UTC)
    start = since.replace(tzinfo=UTC) if since else None
    if start is not None and start >= now:
        fail(f"--since: expected a date before today, got {start:%Y-%m-%d}", code=2)
    with database() as db:
        r = kpi.report(db, now, start, segment)
    if format == "json":
        typer.echo(r.model_dump_json(indent=2))
    elif format == "html":
        typer.echo(report_page.render(r), nl=False)
    else:
        typer.echo(text_report(r))
