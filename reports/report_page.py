"""The KPI report as one self-contained HTML page a CS leader opens: figures, tables, SVG charts.

The markup is templates/pages/report.html.jinja (jinja2, autoescaped); this module works out
what goes in it: the figures as text and each chart's shapes (bars, labels, marks) with their
coordinates. No scripts, fonts or images are fetched: the charts are inline SVG. The page is
also well-formed XML, so it can be checked with any XML parser.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import jinja2

from adapters.email.render import page_environment
from reports import participation
from reports.figures import Rate, SegmentKpis, median
from reports.kpi import Report
from reports.words import plural

SEGMENT_COLOURS = {"smb": "#4e79a7", "mid_market": "#f28e2b", "enterprise": "#59a14f"}
SEGMENT_LABELS = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}
GREEN, GREY, RED, AMBER = "#59a14f", "#bab0ac", "#e15759", "#edc948"
WIDTH = 640


@dataclass
class Chart:
    """An SVG chart: shapes in drawing order, each a dict the template draws by its `shape`."""

    title: str
    height: float = 0
    shapes: list[dict[str, object]] = field(default_factory=list)
    width: int = WIDTH

    def bar(self, x: float, y: float, w: float, h: float, fill: str, label: str) -> None:
        self.shapes.append({"shape": "rect", "x": x, "y": y, "w": max(w, 0), "h": h, "fill": fill, "label": label})

    def text(self, x: float, y: float, content: object, anchor: str = "start") -> None:
        self.shapes.append({"shape": "text", "x": x, "y": y, "content": content, "anchor": anchor})

    def line(self, x: float, y1: float, y2: float) -> None:
        self.shapes.append({"shape": "line", "x": x, "y1": y1, "y2": y2})


@dataclass
class Table:
    headers: list[str]
    rows: list[list[object]]
    numeric: set[int] = field(default_factory=set)


def pct(rate: Rate) -> str:
    return "n/a" if rate.percent is None else f"{rate.percent:g}% ({rate.count}/{rate.of})"


def num(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def ttfv_chart(segments: list[SegmentKpis]) -> Chart | None:
    """Histogram of time to first value in weekly bins, one bar per segment in each bin."""
    values = [(s.segment, d) for s in segments for d in s.ttfv_days]
    if not values:
        return None
    weeks = max(1, math.floor(max(d for _, d in values) / 7) + 1)
    bins = {(seg, w): 0 for seg in SEGMENT_COLOURS for w in range(weeks)}
    for seg, d in values:
        bins[(seg, int(d // 7))] += 1
    shown = [s.segment for s in segments if s.ttfv_days]
    tallest = max(bins.values())
    left, top, plot_h = 40, 30, 180
    slot = (WIDTH - left - 10) / weeks
    chart = Chart("Time to first value distribution", top + plot_h + 40)
    chart.text(left, 15, "onboardings per week of time to first value")
    for i, seg in enumerate(shown):
        x = WIDTH - 110 * (len(shown) - i)
        chart.bar(x, 6, 10, 10, SEGMENT_COLOURS[seg], SEGMENT_LABELS[seg])
        chart.text(x + 14, 15, SEGMENT_LABELS[seg])
    for w in range(weeks):
        x0 = left + w * slot
        width = (slot - 4) / len(shown)
        for i, seg in enumerate(shown):
            n = bins[(seg, w)]
            h = plot_h * n / tallest
            label = f"{SEGMENT_LABELS[seg]}, days {w * 7}-{w * 7 + 7}: {n}"
            chart.bar(x0 + i * width, top + plot_h - h, width, h, SEGMENT_COLOURS[seg], label)
        chart.text(x0 + slot / 2, top + plot_h + 15, f"wk {w + 1}", "middle")
    chart.text(5, top + 10, tallest)
    chart.text(WIDTH / 2, top + plot_h + 32, "weeks from signing to first value", "middle")
    return chart


def completion_chart(segments: list[SegmentKpis]) -> Chart:
    """One stacked bar per segment: completed, still running, cancelled."""
    left, row = 100, 34
    widest = max((s.counts.started for s in segments), default=0) or 1
    scale = (WIDTH - left - 140) / widest
    chart = Chart("Completion by segment", 20 + row * len(segments))
    for i, s in enumerate(segments):
        y, x = 10 + i * row, float(left)
        chart.text(5, y + 16, SEGMENT_LABELS[s.segment])
        c = s.counts
        for n, colour, what in (
            (c.completed, GREEN, "completed"),
            (c.active + c.paused, GREY, "running"),
            (c.cancelled, RED, "cancelled"),
        ):
            chart.bar(x, y, n * scale, 22, colour, f"{SEGMENT_LABELS[s.segment]}: {n} {what}")
            x += n * scale
        chart.text(x + 6, y + 16, f"{pct(c.completion)} complete")
    return chart


def load_chart(report: Report) -> Chart | None:
    """One bar per person: active onboardings, with a mark at their capacity."""
    people = [p for p in report.people if p.role != "cs_manager"]
    if not people:
        return None
    left, row = 190, 24
    widest = max(max(p.load, p.capacity) for p in people)
    scale = (WIDTH - left - 70) / widest
    chart = Chart("Load by person against capacity", 16 + row * len(people))
    for i, p in enumerate(people):
        y = 8 + i * row
        colour = RED if p.load > p.capacity else AMBER if p.load >= 0.9 * p.capacity else GREEN
        chart.text(5, y + 13, f"{p.staff_id} ({'CSM' if p.role == 'csm' else 'IS'})")
        chart.bar(left, y, p.load * scale, 16, colour, f"{p.staff_id}: {p.load} of {p.capacity}")
        chart.line(left + p.capacity * scale, y - 2, y + 18)
        chart.text(left + widest * scale + 8, y + 13, f"{p.load}/{p.capacity}")
    return chart


def tiles(report: Report) -> list[tuple[object, str]]:
    t = report.totals
    return [
        (t.started, "started"),
        (t.active + t.paused, "active (incl. paused)"),
        (t.completed, "completed"),
        (t.cancelled, "cancelled"),
        (pct(t.completion), "completion rate, past their standard length"),
        (t.within_length, "within their standard length (not in the rate)"),
        (num(median([d for s in report.segments for d in s.ttfv_days]), " days"), "time to first value, median"),
        (pct(report.escalations), "escalation rate"),
        (pct(report.automation), "touches automated"),
        (num(report.survey.csat_average), "CSAT (1-5)"),
        (num(report.survey.ces_average), "CES (1-7)"),
    ]


def segment_table(report: Report) -> Table:
    rows: list[list[object]] = [
        [
            SEGMENT_LABELS[s.segment],
            s.counts.started,
            s.counts.active + s.counts.paused,
            s.counts.completed,
            s.counts.cancelled,
            pct(s.counts.completion),
            s.counts.within_length,
            num(s.ttfv_median_days),
            num(s.ttfv_p90_days),
            pct(s.activation),
        ]
        for s in report.segments
    ]
    headers = ["segment", "started", "active", "completed", "cancelled", "completion", "within length"]
    return Table([*headers, "TTFV median (d)", "TTFV p90 (d)", "activation"], rows, {1, 2, 3, 4, 6, 7, 8})


def tables(report: Report) -> dict[str, Table]:
    return {
        "segments": segment_table(report),
        "phases": Table(
            ["segment", "phase", "finished", "mean days"],
            [
                [SEGMENT_LABELS[s.segment], p.phase, p.finished, f"{p.mean_days:.1f}"]
                for s in report.segments
                for p in s.phases
            ],
            {2, 3},
        ),
        "at_risk": Table(
            ["account", "segment", "owner", "health", "open escalations", "reason"],
            [
                [r.company, SEGMENT_LABELS.get(r.segment, r.segment), r.owner, r.health, r.open_escalations, r.reason]
                for r in report.at_risk
            ],
            {4},
        ),
        "reasons": Table(["reason", "count"], [[r.reason, r.count] for r in report.top_reasons], {1}),
        "people": Table(
            ["id", "name", "role", "segments", "active", "capacity"],
            [[p.staff_id, p.name, p.role, ", ".join(p.segments), p.load, p.capacity] for p in report.people],
            {4, 5},
        ),
    }


@cache
def template() -> jinja2.Template:
    return page_environment("pages").get_template("report.html.jinja")


def participation_view(report: Report) -> dict[str, object]:
    """People on the customer's side who acted in the portal, completion by their number, who confirmed steps."""
    p = report.participation
    return {
        "with_actions": participation.share(p.with_customer_actions),
        "mean": "n/a" if p.mean_people is None else f"{p.mean_people:g}",
        "by_customer": participation.share(p.steps_by_customer),
        "by_csm": p.steps_by_csm,
        "table": Table(
            ["customer people who acted", "onboardings", "completed"],
            [[g.people, g.onboardings, participation.share(g.completion)] for g in p.groups],
            {1},
        ),
    }


def variants_view(report: Report) -> list[dict[str, object]]:
    """Each playbook A/B test: its groups side by side and the plain statement on noise."""
    return [
        {
            "segment": SEGMENT_LABELS.get(c.segment, c.segment),
            "statement": c.statement,
            "table": Table(
                ["group", "onboardings", "completed", "escalated", "time to first value (median days)"],
                [
                    [
                        g.variant,
                        g.onboardings,
                        f"{g.completed} ({g.completion:.0%})",
                        f"{g.escalated} ({g.escalation:.0%})",
                        "-" if g.median_days is None else f"{g.median_days:g}",
                    ]
                    for g in c.groups
                ],
                {1},
            ),
        }
        for c in report.variants
    ]


def render(report: Report) -> str:
    """The whole page."""
    survey = report.survey
    return template().render(
        scope=SEGMENT_LABELS[report.segment] if report.segment else "All segments",
        since=f"signed since {report.since:%Y-%m-%d}" if report.since else "all onboardings",
        as_of=f"{report.as_of:%Y-%m-%d %H:%M} UTC",
        tiles=tiles(report),
        tables=tables(report),
        within_length=plural(report.totals.within_length, "onboarding"),
        charts={
            "completion": completion_chart(report.segments),
            "ttfv": ttfv_chart(report.segments),
            "load": load_chart(report),
        },
        escalation_rate=pct(report.escalations),
        survey={
            "answers": plural(survey.answers, "answer"),
            "goal_reached": pct(survey.goal_reached),
            "csat": num(survey.csat_average),
            "satisfied": pct(survey.csat_satisfied),
            "ces": num(survey.ces_average),
        },
        forecast=[f.sentence() for f in report.forecast],
        participation=participation_view(report),
        variants=variants_view(report),
    )
