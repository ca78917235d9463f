"""`admin.py playbook rollout NEW.yaml --where QUERY [--dry-run]`: a playbook change for onboardings in flight.

For each running onboarding of the playbook's segment that the visibility query matches:
map its state onto the new version by id (refused, with the reason, when it cannot be),
simulate the rest of its journey under the version it follows and under the new one, and
print what changes. Without --dry-run each is moved through the `apply_playbook` update
(its validator checks the mapping again), then simulated once more from its new state: the
command says whether the result is what the dry run predicted. Onboardings already on the
new version are skipped, so an interrupted rollout is simply run again. Rolling back is
rolling out the previous version's file.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from adapters.email.render import available
from cli.common import client, fail, run
from onboarding import playbook
from onboarding.forecast import Forecast, compare, describe, forecast, horizon
from onboarding.journey import OnboardingInput
from onboarding.messages import ApplyPlaybook
from onboarding.models import account_of
from onboarding.playbook import Playbook
from reports.words import plural

STATE_QUERY = "get_state"


def query_for(segment: str, where: str) -> str:
    running = f"WorkflowType = 'OnboardingWorkflow' AND ExecutionStatus = 'Running' AND OnboardingSegment = '{segment}'"
    return f"{running} AND ({where})" if where.strip() else running


async def matching(c: Client, query: str) -> list[str]:
    try:
        return [wf.id async for wf in c.list_workflows(query)]
    except RPCError as e:
        fail(f"--where: the visibility store refused the query: {e.message}", code=2)


async def state_of(c: Client, workflow_id: str) -> OnboardingInput:
    return await c.get_workflow_handle(workflow_id).query(STATE_QUERY, result_type=OnboardingInput)


class Outcome:
    """What happened to one onboarding: `changed`, `unchanged`, `skipped` or `refused`, and the lines to print."""

    def __init__(self, kind: str, lines: list[str]) -> None:
        self.kind, self.lines = kind, lines


async def one(c: Client, workflow_id: str, new: Playbook, now: datetime, dry_run: bool, by: str) -> Outcome:
    account = account_of(workflow_id)
    state = await state_of(c, workflow_id)
    old_version = state.playbook.version
    head = f"{account}: {old_version} -> {new.version}"
    if old_version == new.version:
        return Outcome("skipped", [f"{account}: already on {new.version}; skipped"])
    if state.playbook.variant != new.variant:
        group = state.playbook.variant or "control"
        hint = f"--variant {group}" if state.playbook.variant else "no --variant"
        why = f"it is in the A/B test group {group!r}; roll that group's playbook out with {hint}"
        return Outcome("refused", [f"{account}: refused: {why}"])
    until = horizon(state, new, now)
    try:
        predicted = forecast(state, now, until, new)
    except ValueError as e:
        return Outcome("refused", [f"{account}: refused: {e}"])
    changes = compare(forecast(state, now, until), predicted)
    lines = [head + (f" ({plural(len(changes), 'change')})" if changes else " (nothing changes)")]
    lines += [describe(ch) for ch in changes]
    if not dry_run:
        lines += await apply(c, workflow_id, new, by, predicted, now, until)
    return Outcome("changed" if changes else "unchanged", lines)


async def apply(
    c: Client, workflow_id: str, new: Playbook, by: str, predicted: Forecast, now: datetime, until: datetime
) -> list[str]:
    """Send the update, then simulate again from the state the onboarding now holds."""
    message = ApplyPlaybook(playbook=new.model_dump(mode="json"), version=new.version, by=by)
    try:
        await c.get_workflow_handle(workflow_id).execute_update("apply_playbook", message)
    except WorkflowUpdateFailedError as e:
        reason = e.cause.message if isinstance(e.cause, ApplicationError) else str(e.cause or e)
        return [f"  not applied: {reason}"]
    after = forecast(await state_of(c, workflow_id), now, until)
    if after == predicted:
        return ["  applied; the journey now is what the dry run said"]
    return ["  applied; the journey differs from the dry run (something happened meanwhile):"] + [
        describe(ch) for ch in compare(predicted, after)
    ]


async def roll(path: Path, where: str, dry_run: bool, by: str, variant: str | None = None) -> Counter[str]:
    try:
        new = playbook.load(path, available())
    except playbook.PlaybookError as e:
        fail(str(e), code=2)
    if variant is not None:
        new = new.model_copy(update={"variant": variant})  # the group keeps its name in the report
    c = await client()
    ids = await matching(c, query_for(new.segment, where))
    now = datetime.now(UTC)
    counts: Counter[str] = Counter()
    verb = "Dry run" if dry_run else "Rolling out"
    typer.echo(f"{verb}: {new.version} ({new.segment}) to {plural(len(ids), 'onboarding')}")
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(verb, total=len(ids))
        for workflow_id in ids:
            try:
                outcome = await one(c, workflow_id, new, now, dry_run, by)
            except RPCError as e:
                outcome = Outcome("failed", [f"{account_of(workflow_id)}: not reached: {e.message}"])
            counts[outcome.kind] += 1
            for line in outcome.lines:
                typer.echo(line)
            bar.advance(task)
    return counts


def summary(counts: Counter[str], dry_run: bool) -> str:
    changed = "would change" if dry_run else "changed"
    parts = [
        f"{counts['changed']} {changed}",
        f"{counts['unchanged']} {'would move' if dry_run else 'moved'} with nothing ahead changed",
        f"{counts['refused']} refused",
        f"{counts['skipped']} already on this version",
    ]
    if counts["failed"]:
        parts.append(f"{counts['failed']} not reached (run the command again)")
    tail = "; nothing was changed (dry run)" if dry_run else ""
    return "Summary: " + ", ".join(parts) + tail


def rollout(
    file: Annotated[Path, typer.Argument(help="The new playbook version (YAML).")],
    where: Annotated[
        str, typer.Option(help="A visibility query to pick onboardings, e.g. \"OnboardingPhase = 'early_training'\".")
    ] = "",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; change nothing.")] = False,
    by: Annotated[str, typer.Option(envvar=["CSM_ID", "USER"], show_envvar=False, help="Who rolls out.")] = "ops",
    variant: Annotated[
        str | None,
        typer.Option(help="Change this A/B test group's playbook; without it only the control group is changed."),
    ] = None,
) -> None:
    """Roll a playbook version out to onboardings in flight (only those of its segment).

    Example: python admin.py playbook rollout playbooks/smb.yaml --where "OnboardingPhase = 'early_training'" --dry-run
    """
    counts = run(roll(file, where, dry_run, by, variant))
    typer.echo(summary(counts, dry_run))
    if counts["refused"] or counts["failed"]:
        raise typer.Exit(1)
