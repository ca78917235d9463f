"""`python -m bench.history [--quick|--smoke]`: history events and bytes per onboarding, and the largest payload.

Each segment's happy path and worst case (bench/scenarios/: every nudge and escalation, a
pause, red flags, a late success) run through the simulator (the real workflow, playbook and
activities on the time-skipping server). The onboarding is every run from the signed contract
to completion (a run continues as new past workflows.onboarding.HISTORY_LIMIT events): their
events and bytes together, and the largest run's events, which is what a worker replays when
it rebuilds an evicted run. The check-in cadence after completion continues as new in small
runs of its own, counted separately. Temporal warns at 10,240 events or 10 MB of history, and
refuses a single payload over 2 MB.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import ListClosedWorkflowExecutionsRequest
from temporalio.client import Client

from adapters.email.render import available
from bench import common
from onboarding import playbook
from onboarding.models import Segment
from simulator.run import Simulator
from simulator.scenario import load

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
JOURNEYS = ("happy_path", "worst_case")
SEGMENTS: tuple[Segment, ...] = ("smb", "mid_market", "enterprise")


async def closed_onboardings(client: Client) -> dict[str, str]:
    """Workflow id -> first run id of every closed workflow on the server.

    The simulator ends each onboarding when its scenario is over; the time-skipping server
    lists closed runs (though not through the visibility query API).
    """
    found: dict[str, tuple[datetime, str]] = {}
    token = b""
    while True:
        page = await client.workflow_service.list_closed_workflow_executions(
            ListClosedWorkflowExecutionsRequest(namespace="default", next_page_token=token)
        )
        for info in page.executions:
            run = (info.start_time.ToDatetime(), info.execution.run_id)
            found[info.execution.workflow_id] = min(found.get(info.execution.workflow_id, run), run)
        token = page.next_page_token
        if not token:
            return {workflow_id: run_id for workflow_id, (_, run_id) in found.items()}


def payloads(message: Message) -> Iterator[Payload]:
    """Every payload inside a history event (inputs, results, signal and update arguments, markers, ...)."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            items = [v for v in value.values() if isinstance(v, Message)]
        elif descriptor.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                yield item
            else:
                yield from payloads(item)


def describe_event(event: HistoryEvent) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    attrs = getattr(event, event.WhichOneof("attributes") or "", None)
    for field in ("activity_type", "workflow_type", "signal_name", "marker_name"):
        kind = getattr(attrs, field, None)
        if kind:
            return f"{name} ({kind if isinstance(kind, str) else kind.name})"
    return name


async def runs_of(client: Client, workflow_id: str, first_run: str) -> list[list[HistoryEvent]]:
    """Every run's history, oldest first, following continue-as-new."""
    out: list[list[HistoryEvent]] = []
    run_id: str | None = first_run
    while run_id:
        events = [e async for e in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events()]
        out.append(events)
        last = events[-1].workflow_execution_continued_as_new_event_attributes if events else None
        run_id = last.new_execution_run_id if last else None
    return out


def until_completion(runs: list[list[HistoryEvent]]) -> int:
    """How many of the runs are the onboarding: up to the one that continued as new with an
    outcome (completed), or the last run."""
    for i, events in enumerate(runs):
        moved = events[-1].workflow_execution_continued_as_new_event_attributes if events else None
        if moved is None or not moved.input.payloads:
            return i + 1
        progress = json.loads(moved.input.payloads[0].data).get("progress") or {}
        if progress.get("outcome", "active") != "active":
            return i + 1
    return len(runs)


def together(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The runs' sizes as one onboarding's: events and bytes summed, the largest run and payload."""
    largest = max(runs, key=lambda r: r["largest_payload_bytes"])
    bytes_by_event: Counter[str] = Counter()
    for r in runs:
        bytes_by_event.update(r["bytes_by_event"])
    return {
        "events": sum(r["events"] for r in runs),
        "bytes": sum(r["bytes"] for r in runs),
        "runs": len(runs),
        "largest_run_events": max(r["events"] for r in runs),
        "largest_payload_bytes": largest["largest_payload_bytes"],
        "largest_payload_in": largest["largest_payload_in"],
        "bytes_by_event": dict(bytes_by_event.most_common(6)),
    }


def sizes(events: list[HistoryEvent]) -> dict[str, Any]:
    """Events, bytes and the largest payload of one run."""
    largest, where = 0, ""
    for event in events:
        for payload in payloads(event):
            if payload.ByteSize() > largest:
                largest, where = payload.ByteSize(), describe_event(event)
    by_kind: Counter[str] = Counter()
    for event in events:
        by_kind[describe_event(event)] += event.ByteSize()
    return {
        "events": len(events),
        "bytes": sum(by_kind.values()),
        "largest_payload_bytes": largest,
        "largest_payload_in": where,
        "bytes_by_event": dict(by_kind.most_common(6)),
    }


async def measure(journeys: list[tuple[Segment, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Simulator() as sim:
        for segment, journey in journeys:
            scenario = load(SCENARIOS / f"{segment}_{journey}.yaml")
            before = await closed_onboardings(sim.client)
            result = await sim.simulate(scenario, playbook.for_segment(segment, available()))
            if result.outcome != "completed" or any(e.kind == "rejected" for e in result.timeline):
                raise RuntimeError(f"{segment} {journey}: the journey did not run as written ({result.outcome})")
            ((workflow_id, first_run),) = (await closed_onboardings(sim.client)).items() - before.items()
            runs = await runs_of(sim.client, workflow_id, first_run)
            ends = until_completion(runs)
            onboarding, cadence = together([sizes(r) for r in runs[:ends]]), [sizes(r) for r in runs[ends:]]
            out.setdefault(segment, {})[journey] = onboarding | {
                "days_to_first_value": result.days_to_first_value,
                "simulated_days": result.days,
                "emails": sum(1 for e in result.timeline if e.kind == "email"),
                "escalations": sum(1 for e in result.timeline if e.kind == "escalation"),
                "check_in_runs": len(cadence),
                "check_in_run_events_max": max((c["events"] for c in cadence), default=0),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = common.arguments(__doc__)
    args = parser.parse_args(argv)
    everything = [(s, j) for s in SEGMENTS for j in JOURNEYS]
    journeys = common.sized(args, smoke=everything[:1], quick=everything[:2], full=everything)
    started = time.monotonic()
    figures = asyncio.run(measure(journeys))
    largest = max(
        (j for seg in figures.values() for j in seg.values()),
        key=lambda j: j["largest_payload_bytes"],
    )
    common.write(
        "history",
        args,
        {
            "segments": figures,
            "largest_payload": {k: largest[k] for k in ("largest_payload_bytes", "largest_payload_in")},
            "limits": {"history_events_warning": 10_240, "history_bytes_warning": 10 * 2**20, "payload_max": 2 * 2**20},
        },
        started,
    )
    for segment, found in figures.items():
        for journey, f in found.items():
            print(
                f"history: {segment} {journey}: {f['events']} events in {f['runs']} runs"
                f" (largest {f['largest_run_events']}), {f['bytes']} bytes",
                file=sys.stderr,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
