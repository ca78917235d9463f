"""The KPI report as one self-contained HTML page a CS leader opens: figures, tables, SVG charts.

No scripts, fonts or images are fetched: the charts are inline SVG drawn here. The page is
also well-formed XML, so it can be checked with any XML parser.
"""

from __future__ import annotations

import math
from html import escape

from reports import participation
from reports.kpi import Rate, Report, SegmentKpis, median

SEGMENT_COLOURS = {"smb": "#4e79a7", "mid_market": "#f28e2b", "enterprise": "#59a14f"}
SEGMENT_LABELS = {"smb": "SMB", "mid_market": "Mid-market", "enterprise": "Enterprise"}
GREEN, GREY, RED, AMBER = "#59a14f", "#bab0ac", "#e15759", "#edc948"
WIDTH = 640

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
.tiles{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:.6rem .9rem;min-width:8rem}
.tile b{display:block;font-size:1.5rem} .tile span{color:#666;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
th,td{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left;font-size:.9rem}
td.n,th.n{text-align:right} svg text{font-size:12px;fill:#333} .risk{color:#b00}
"""


def e(value: object) -> str:
    return escape(str(value), quote=True)


def pct(rate: Rate) -> str:
    return "n/a" if rate.percent is None else f"{rate.percent:g}% ({rate.count}/{rate.of})"


def num(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"


def svg(height: int, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{e(title)}"><title>{e(title)}</title>{body}</svg>'
    )


def bar(x: float, y: float, w: float, h: float, fill: str, label: str) -> str:
    box = f'x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}"'
    return f'<rect {box} fill="{fill}"><title>{e(label)}</title></rect>'


def text(x: float, y: float, content: object, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{e(content)}</text>'


def ttfv_chart(segments: list[SegmentKpis]) -> str:
    """Histogram of time to first value in weekly bins, one bar per segment in each bin."""
    values = [(s.segment, d) for s in segments for d in s.ttfv_days]
    if not values:
        return "<p>No onboarding has reached first value yet.</p>"
    weeks = max(1, math.floor(max(d for _, d in values) / 7) + 1)
    bins = {(seg, w): 0 for seg in SEGMENT_COLOURS for w in range(weeks)}
    for seg, d in values:
        bins[(seg, int(d // 7))] += 1
    shown = [s.segment for s in segments if s.ttfv_days]
    tallest = max(bins.values())
    left, top, plot_h = 40, 30, 180
    slot = (WIDTH - left - 10) / weeks
    body = [text(left, 15, "onboardings per week of time to first value")]
    for i, seg in enumerate(shown):
        x = WIDTH - 110 * (len(shown) - i)
        body.append(bar(x, 6, 10, 10, SEGMENT_COLOURS[seg], SEGMENT_LABELS[seg]))
        body.append(text(x + 14, 15, SEGMENT_LABELS[seg]))
    for w in range(weeks):
        x0 = left + w * slot
        width = (slot - 4) / len(shown)
        for i, seg in enumerate(shown):
            n = bins[(seg, w)]
            h = plot_h * n / tallest
            label = f"{SEGMENT_LABELS[seg]}, days {w * 7}-{w * 7 + 7}: {n}"
            body.append(bar(x0 + i * width, top + plot_h - h, width, h, SEGMENT_COLOURS[seg], label))
        body.append(text(x0 + slot / 2, top + plot_h + 15, f"wk {w + 1}", "middle"))
    body.append(text(5, top + 10, tallest))
    body.append(text(WIDTH / 2, top + plot_h + 32, "weeks from signing to first value", "middle"))
    return svg(top + plot_h + 40, "".join(body), "Time to first value distribution")


def completion_chart(segments: list[SegmentKpis]) -> str:
    """One stacked bar per segment: completed, still running, cancelled."""
    left, row = 100, 34
    widest = max((s.counts.started for s in segments), default=0) or 1
    scale = (WIDTH - left - 140) / widest
    body = []
    for i, s in enumerate(segments):
        y, x = 10 + i * row, float(left)
        body.append(text(5, y + 16, SEGMENT_LABELS[s.segment]))
        c = s.counts
        for n, colour, what in (
            (c.completed, GREEN, "completed"),
            (c.active + c.paused, GREY, "running"),
            (c.cancelled, RED, "cancelled"),
        ):
            body.append(bar(x, y, n * scale, 22, colour, f"{SEGMENT_LABELS[s.segment]}: {n} {what}"))
            x += n * scale
        body.append(text(x + 6, y + 16, f"{pct(c.completion)} complete"))
    return svg(20 + row * len(segments), "".join(body), "Completion by segment")


def load_chart(report: Report) -> str:
    """One bar per person: active onboardings, with a mark at their capacity."""
    people = [p for p in report.people if p.role != "cs_manager"]
    if not people:
        return "<p>No CSMs or implementation specialists in the roster.</p>"
    left, row = 190, 24
    widest = max(max(p.load, p.capacity) for p in people)
    scale = (WIDTH - left - 70) / widest
    body = []
    for i, p in enumerate(people):
        y = 8 + i * row
        colour = RED if p.load > p.capacity else AMBER if p.load >= 0.9 * p.capacity else GREEN
        body.append(text(5, y + 13, f"{p.staff_id} ({'CSM' if p.role == 'csm' else 'IS'})"))
        body.append(bar(left, y, p.load * scale, 16, colour, f"{p.staff_id}: {p.load} of {p.capacity}"))
        cap_x = left + p.capacity * scale
        body.append(f'<line x1="{cap_x:.1f}" y1="{y - 2}" x2="{cap_x:.1f}" y2="{y + 18}" stroke="#222"/>')
        body.append(text(left + widest * scale + 8, y + 13, f"{p.load}/{p.capacity}"))
    return svg(16 + row * len(people), "".join(body), "Load by person against capacity")


def table(headers: list[str], rows: list[list[object]], numeric: set[int] | None = None) -> str:
    """A plain table; columns in `numeric` are right-aligned."""

    def cell(tag: str, i: int, value: object) -> str:
        align = ' class="n"' if numeric and i in numeric else ""
        return f"<{tag}{align}>{e(value)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def tiles(report: Report) -> str:
    t = report.totals
    items = [
        (t.started, "started"),
        (t.active + t.paused, "active (incl. paused)"),
        (t.completed, "completed"),
        (t.cancelled, "cancelled"),
        (pct(t.completion), "completion rate"),
        (num(median([d for s in report.segments for d in s.ttfv_days]), " days"), "time to first value, median"),
        (pct(report.escalations), "escalation rate"),
        (pct(report.automation), "touches automated"),
        (num(report.survey.csat_average), "CSAT (1-5)"),
        (num(report.survey.ces_average), "CES (1-7)"),
    ]
    cells = "".join(f'<div class="tile"><b>{e(v)}</b><span>{e(k)}</span></div>' for v, k in items)
    return f'<div class="tiles">{cells}</div>'


def segment_table(report: Report) -> str:
    rows: list[list[object]] = [
        [
            SEGMENT_LABELS[s.segment],
            s.counts.started,
            s.counts.active + s.counts.paused,
            s.counts.completed,
            s.counts.cancelled,
            pct(s.counts.completion),
            num(s.ttfv_median_days),
            num(s.ttfv_p90_days),
            pct(s.activation),
        ]
        for s in report.segments
    ]
    headers = ["segment", "started", "active", "completed", "cancelled", "completion", "TTFV median (d)"]
    return table([*headers, "TTFV p90 (d)", "activation"], rows, {1, 2, 3, 4, 6, 7})


def phase_table(report: Report) -> str:
    rows: list[list[object]] = [
        [SEGMENT_LABELS[s.segment], p.phase, p.finished, f"{p.mean_days:.1f}"]
        for s in report.segments
        for p in s.phases
    ]
    if not rows:
        return "<p>No phase has finished yet.</p>"
    return table(["segment", "phase", "finished", "mean days"], rows, {2, 3})


def risk_table(report: Report) -> str:
    if not report.at_risk:
        return "<p>No account is at risk.</p>"
    rows: list[list[object]] = [
        [r.company, SEGMENT_LABELS.get(r.segment, r.segment), r.owner, r.health, r.open_escalations, r.reason]
        for r in report.at_risk
    ]
    return table(["account", "segment", "owner", "health", "open escalations", "reason"], rows, {4})


def participation_section(report: Report) -> str:
    """People on the customer's side who acted in the portal, completion by their number, who confirmed steps."""
    p = report.participation
    mean = "n/a" if p.mean_people is None else f"{p.mean_people:g}"
    rows: list[list[object]] = [[g.people, g.onboardings, participation.share(g.completion)] for g in p.groups]
    return (
        f"<p>A customer person acted in {e(participation.share(p.with_customer_actions))} of onboardings; "
        f"{e(mean)} people per onboarding on average. Steps confirmed done by the customer: "
        f"{e(participation.share(p.steps_by_customer))}; by the CSM: {e(p.steps_by_csm)}.</p>"
        + table(["customer people who acted", "onboardings", "completed"], rows, {1})
    )


def render(report: Report) -> str:
    """The whole page."""
    scope = SEGMENT_LABELS[report.segment] if report.segment else "All segments"
    since = f"signed since {report.since:%Y-%m-%d}" if report.since else "all onboardings"
    survey = report.survey
    reasons = table(["reason", "count"], [[r.reason, r.count] for r in report.top_reasons], {1})
    people: list[list[object]] = [
        [p.staff_id, p.name, p.role, ", ".join(p.segments), p.load, p.capacity] for p in report.people
    ]
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"/><title>Onboarding report</title><style>{STYLE}</style></head>
<body>
<h1>Onboarding report</h1>
<p class="sub">{e(scope)}, {e(since)}; as of {e(f"{report.as_of:%Y-%m-%d %H:%M} UTC")}</p>
{tiles(report)}
<h2>By segment</h2>
{segment_table(report)}
{completion_chart(report.segments)}
<h2>Time to first value</h2>
{ttfv_chart(report.segments)}
<h2>Time in each phase</h2>
{phase_table(report)}
<h2>At-risk accounts</h2>
{risk_table(report)}
<h2>Escalations</h2>
<p>{e(pct(report.escalations))} of onboardings were escalated to a person. Most common reasons:</p>
{reasons if report.top_reasons else "<p>None.</p>"}
<h2>Success survey</h2>
<p>{e(survey.answers)} answers; goal reached {e(pct(survey.goal_reached))}; CSAT {e(num(survey.csat_average))}
(satisfied, 4-5: {e(pct(survey.csat_satisfied))}); CES {e(num(survey.ces_average))}.</p>
<h2>Team load</h2>
{load_chart(report)}
{table(["id", "name", "role", "segments", "active", "capacity"], people, {4, 5})}
<h2>Capacity forecast</h2>
<ul>{"".join(f"<li>{e(f.sentence())}</li>" for f in report.forecast)}</ul>
<h2>Customer participation</h2>
{participation_section(report)}
</body>
</html>
"""
