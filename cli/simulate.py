"""`admin.py simulate`: see what a playbook does to a customer, day by day, before it goes live.

Runs the real workflow with the real playbook on the time-skipping server (see simulator/).
Exit codes: 0 done (and the scenario's expectations met), 1 the simulation failed or an
expectation was not met, 2 the input was refused (scenario, playbook, arguments).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from adapters.email.render import available
from cli.common import fail, run
from onboarding import playbook
from onboarding.models import Segment
from onboarding.playbook import Playbook, PlaybookError
from reports.words import plural
from simulator import compare as comparing
from simulator import expect, report
from simulator.batch import Job, simulate_all
from simulator.journey import SimulationError
from simulator.run import Simulator, default_days
from simulator.scenario import SILENT, Scenario, ScenarioError, load

app = typer.Typer()
SUFFIXES = (".yaml", ".yml", ".json")


class Refused(ValueError):
    """Input the simulator cannot run; the message says which and why."""


def pick_segment(option: Segment | None, scenario: Scenario, plan: Playbook | None, plan_file: Path | None) -> Segment:
    """The segment from --segment, the scenario or the playbook file; they must agree."""
    said: dict[str, Segment] = {}
    if option:
        said["--segment"] = option
    if scenario.segment:
        said[scenario.source] = scenario.segment
    if plan is not None:
        said[str(plan_file)] = plan.segment
    if len(set(said.values())) > 1:
        raise Refused("the segments disagree: " + ", ".join(f"{who} says {seg}" for who, seg in said.items()))
    if not said:
        raise Refused("which segment? give --segment smb, mid_market or enterprise (or a scenario that names one)")
    return next(iter(said.values()))


def load_playbook(path: Path | None, segment: Segment) -> Playbook:
    plan = playbook.load(path, available()) if path else playbook.for_segment(segment, available())
    if plan.segment != segment:
        raise Refused(f"{path}: a playbook for {plan.segment}, but the simulation is for {segment}")
    return plan


def load_scenario(path: Path | None) -> Scenario:
    return load(path) if path else SILENT


@app.command()
def simulate(
    segment: Annotated[Segment | None, typer.Option(help="smb, mid_market or enterprise.")] = None,
    playbook_file: Annotated[
        Path | None, typer.Option("--playbook", metavar="FILE", help="A playbook file instead of the segment's own.")
    ] = None,
    scenario_file: Annotated[
        Path | None,
        typer.Option(
            "--scenario", metavar="FILE", help="YAML or JSON: contract and dated actions. None: a silent customer."
        ),
    ] = None,
    days: Annotated[
        float | None, typer.Option(min=0.01, help="How long to run, in days. Default: the playbook's length plus 30.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on standard output.")] = False,
    other_file: Annotated[
        Path | None,
        typer.Option(
            "--compare", metavar="OTHER.yaml", help="Run the same scenario on this playbook too; show what differs."
        ),
    ] = None,
    batch: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Run every scenario in DIR (and below); one line each.")
    ] = None,
) -> None:
    """Run one customer journey through the real workflow and playbook, in seconds of virtual time.

    Scenario format, JSON output and exit codes: docs/simulator.md. Examples:

    python admin.py simulate --segment smb

    python admin.py simulate --scenario tests/scenarios/enterprise/full_journey.yaml --json

    python admin.py simulate --segment smb --scenario journey.yaml --compare trial-smb.yaml

    python admin.py simulate --batch tests/scenarios
    """
    # An action the workflow refuses (an unknown CSM, say) fails an activity on purpose: the
    # timeline says so, the SDK's warning with its traceback would only bury the report.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if batch is not None:
        if scenario_file or other_file or as_json:
            fail("--batch runs every scenario in its folder: leave out --scenario, --compare and --json", 2)
        raise typer.Exit(run(run_batch(batch, segment, playbook_file, days)))
    try:
        scenario = load_scenario(scenario_file)
        given = playbook.load(playbook_file, available()) if playbook_file else None
        seg = pick_segment(segment, scenario, given, playbook_file)
        plan = given or load_playbook(None, seg)
        other = load_playbook(other_file, seg) if other_file else None
        length = days or scenario.days or default_days(plan)
        scenario.check_days(length)
    except (ScenarioError, PlaybookError, Refused) as e:
        fail(str(e), 2)
    if other is not None:
        assert other_file
        raise typer.Exit(run(run_compare(scenario, plan, other, length, as_json, playbook_file, other_file)))
    raise typer.Exit(run(run_one(scenario, plan, length, as_json)))


async def run_one(scenario: Scenario, plan: Playbook, days: float, as_json: bool) -> int:
    try:
        async with Simulator() as sim:
            result = await sim.simulate(scenario, plan, days)
    except SimulationError as e:
        fail(f"simulation failed: {e}")
    typer.echo(json.dumps(result.to_json()) if as_json else report.readable(result))
    if scenario.expect is None:
        return 0
    mismatches = expect.check(scenario.expect, result)
    if as_json:
        for line in mismatches:
            typer.echo(f"expectation not met: {line}", err=True)
    else:
        typer.echo("\nExpectations: " + ("met" if not mismatches else "NOT met"))
        for line in mismatches:
            typer.echo(f"  {line}")
    return 1 if mismatches else 0


async def run_compare(
    scenario: Scenario, plan: Playbook, other: Playbook, days: float, as_json: bool, base: Path | None, other_file: Path
) -> int:
    try:
        async with Simulator() as sim:
            a = await sim.simulate(scenario, plan, days)
            b = await sim.simulate(scenario, other, days)
    except SimulationError as e:
        fail(f"simulation failed: {e}")
    comparison = comparing.compare(a, b)
    base_name = str(base) if base else f"playbooks/{plan.segment}.yaml"
    typer.echo(
        json.dumps(comparison.to_json()) if as_json else comparing.readable(comparison, base_name, str(other_file))
    )
    return 0


async def run_batch(folder: Path, segment: Segment | None, playbook_file: Path | None, days: float | None) -> int:
    """Every scenario file under `folder`, on simulator lanes (see simulator.batch); 2 if any was
    refused, 1 if any failed. Lines come in file order, each as soon as it and those before are done."""
    if not folder.is_dir():
        fail(f"{folder}: not a folder", 2)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    if not files:
        fail(f"{folder}: no scenario files ({', '.join('*' + s for s in SUFFIXES)})", 2)
    started = time.monotonic()
    plans: dict[Segment, Playbook] = {}
    prepared: list[Job | str] = []  # a job, or why the file was refused
    for path in files:
        try:
            scenario = load(path)
            given = playbook.load(playbook_file, available()) if playbook_file else None
            seg = pick_segment(segment, scenario, given, playbook_file)
            plan = given or plans.get(seg) or plans.setdefault(seg, load_playbook(None, seg))
            prepared.append(Job(scenario, plan, days))
        except (ScenarioError, PlaybookError, Refused) as e:
            prepared.append(str(e).splitlines()[0])
    refused = failed = 0
    async with contextlib.aclosing(simulate_all([job for job in prepared if isinstance(job, Job)])) as outcomes:
        for path, job in zip(files, prepared, strict=True):
            name = str(path.relative_to(folder))
            outcome = job if isinstance(job, str) else await anext(outcomes)
            if isinstance(outcome, (str, ScenarioError)):
                refused += 1
                typer.echo(f"{name:<40} REFUSED  {str(outcome).splitlines()[0]}")
            elif isinstance(outcome, SimulationError):
                failed += 1
                typer.echo(f"{name:<40} FAILED   {outcome}")
            else:
                assert isinstance(job, Job)
                mismatches = expect.check(job.scenario.expect, outcome) if job.scenario.expect else None
                failed += bool(mismatches)
                typer.echo(report.batch_line(name, outcome, mismatches))
                for line in mismatches or []:
                    typer.echo(f"    {line}")
    took = time.monotonic() - started
    typer.echo(
        f"{plural(len(files), 'scenario')} in {took:.1f} s ({took / len(files):.2f} s each): "
        f"{len(files) - refused - failed} ok, {failed} failed, {refused} refused"
    )
    return 2 if refused else (1 if failed else 0)
