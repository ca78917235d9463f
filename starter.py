"""`python starter.py CONTRACT.json` (or `-` for standard input): a signed contract starts its onboarding.

`python starter.py serve` runs the same over HTTP for the CRM and the product (intake/app.py).

The contract is validated at the edge, the segment picked (or taken from the contract), the
segment's playbook snapshotted into the workflow input, and one workflow started with id
`onboarding-<account_id>`. A second start for the same account is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from cli.shutdown import exit_after
from connection import connect, namespace
from onboarding import playbook
from onboarding.config import TASK_QUEUE, Settings
from onboarding.email.render import available
from onboarding.journey import OnboardingInput
from onboarding.models import Contract, problems
from onboarding.playbook import Playbook
from workflows import attributes
from workflows.onboarding import OnboardingWorkflow

SEGMENT_NAMES = {"smb": "SMB tech-touch", "mid_market": "Mid-market low-touch", "enterprise": "Enterprise high-touch"}


class ContractError(ValueError):
    """A contract that cannot start an onboarding; the message names each field at fault."""


class AlreadyOnboarding(Exception):
    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"an onboarding for this account already exists: {workflow_id}")
        self.workflow_id = workflow_id


def parse_contract(raw: str | bytes, now: datetime | None = None) -> Contract:
    """Validate a contract document; stamp signed_at with now when it is absent."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ContractError(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except UnicodeDecodeError:
        raise ContractError("not valid UTF-8 text: send the contract as UTF-8 JSON") from None
    try:
        contract = Contract.model_validate(data)
    except ValidationError as e:
        raise ContractError("\n".join(problems(e))) from None
    now = now or datetime.now(UTC)
    if contract.signed_at is None:
        return contract.model_copy(update={"signed_at": now})
    if contract.signed_at > now + timedelta(minutes=5):
        raise ContractError("signed_at: the contract cannot be signed in the future")
    return contract


async def start(
    client: Client, contract: Contract, plan: Playbook | None = None, task_queue: str = TASK_QUEUE
) -> WorkflowHandle[OnboardingWorkflow, object]:
    """Start one onboarding with the segment's playbook snapshotted into its input."""
    segment = contract.picked_segment()
    plan = plan or playbook.for_segment(segment, available())
    try:
        return await client.start_workflow(
            OnboardingWorkflow.run,
            OnboardingInput(contract=contract, playbook=plan),
            id=contract.workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(attributes.SEGMENT, segment),
                    SearchAttributePair(attributes.PHASE, plan.phases[0].id),
                    SearchAttributePair(attributes.HEALTH, "green"),
                    SearchAttributePair(attributes.ESCALATED, False),
                    SearchAttributePair(attributes.PAUSED, False),
                ]
            ),
            static_summary=f"{contract.company} · {SEGMENT_NAMES[segment]}",
            static_details=f"Playbook: {plan.title}, {length(plan.length)}, {len(plan.phases)} phases.",
        )
    except WorkflowAlreadyStartedError:
        raise AlreadyOnboarding(contract.workflow_id) from None


def length(span: timedelta) -> str:
    """A playbook's length in words: '30 days', or '150 seconds' for a compressed test playbook."""
    if span >= timedelta(days=1):
        return f"{span.days} days"
    return f"{int(span.total_seconds())} seconds"


def read_source(arg: str) -> str:
    if arg == "-":
        return sys.stdin.read()
    try:
        return Path(arg).read_text(encoding="utf-8")
    except OSError as e:
        raise ContractError(f"{arg}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ContractError(f"{arg}: not valid UTF-8 text") from None


def load_playbook(path: Path, contract: Contract) -> Playbook:
    """A playbook file instead of the segment's own (a trial edit, a compressed demo), for one start."""
    try:
        plan = playbook.load(path, available())
    except playbook.PlaybookError as e:
        raise ContractError(str(e)) from None
    if plan.segment != contract.picked_segment():
        raise ContractError(
            f"{path}: a playbook for {plan.segment}, but the contract's segment is {contract.picked_segment()}"
        )
    return plan


async def serve(argv: list[str]) -> int:
    """`python starter.py serve`: the HTTP intake for the CRM and the product (intake/app.py)."""
    import uvicorn

    from intake.app import IntakeConfigError, create_app  # imported here: intake.app imports this module

    parser = argparse.ArgumentParser(
        prog="python starter.py serve",
        description="The HTTP intake: the CRM's contract-signed webhook and product events, signed with"
        " INTAKE_SECRET (see intake/signing.py). OpenAPI schema at /openapi.json, docs at /docs.",
    )
    parser.add_argument("--host", default=os.environ.get("INTAKE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("INTAKE_PORT", "8000")))
    args = parser.parse_args(argv)
    try:
        app = create_app()
    except IntakeConfigError as e:
        print(f"cannot serve: {e}", file=sys.stderr)
        return 2
    await uvicorn.Server(uvicorn.Config(app, host=args.host, port=args.port, log_level="info")).serve()
    return 0


async def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return await serve(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python starter.py",
        description="A signed contract starts its onboarding. `python starter.py serve` runs the HTTP intake.",
    )
    parser.add_argument("contract", metavar="CONTRACT.json", help="the signed contract, or - for standard input")
    parser.add_argument("--playbook", type=Path, help="run this playbook file instead of the segment's own")
    args = parser.parse_args(argv)
    try:
        contract = parse_contract(read_source(args.contract))
        plan = load_playbook(args.playbook, contract) if args.playbook else None
    except ContractError as e:
        print(f"contract refused:\n{e}", file=sys.stderr)
        return 2
    client = await connect()
    try:
        handle = await start(client, contract, plan)
    except AlreadyOnboarding as e:
        print(f"{contract.account_id}: {e}", file=sys.stderr)
        return 1
    print(f"started {handle.id} ({contract.picked_segment()})")
    print(Settings.from_env().run_url(handle.id, namespace()))
    return 0


if __name__ == "__main__":
    exit_after(lambda: asyncio.run(main(sys.argv[1:])))
