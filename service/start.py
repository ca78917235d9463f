"""A contract is signed: start its onboarding. The one way in, for the starter, the intake and the simulator.

The contract is validated at the edge, the segment picked (or taken from the contract), the
segment's playbook snapshotted into the workflow input, and one workflow started with id
`onboarding-<account_id>`. While an onboarding of the account is open, another start is
refused (`AlreadyOnboarding`). Once it has ended (cancelled, failed, terminated), the account
can be onboarded again under the same id: `previous_outcome` says how the last one ended.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from adapters.config import TASK_QUEUE
from adapters.email.render import available
from adapters.integrations import IntegrationConfigError, Integrations
from onboarding import playbook, variants
from onboarding.journey import OnboardingInput
from onboarding.models import Contract, Status, problems
from onboarding.playbook import Playbook
from service.bodies import BadBody, read_json
from workflows import attributes

WORKFLOW = "OnboardingWorkflow"  # the workflow type (workflows/onboarding.py), by name: no workflow code here
SEGMENT_NAMES = {"smb": "SMB tech-touch", "mid_market": "Mid-market low-touch", "enterprise": "Enterprise high-touch"}
ENDED = {
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed out",
}


class ContractError(ValueError):
    """A contract that cannot start an onboarding; the message names each field at fault."""


class AlreadyOnboarding(Exception):
    """The account's onboarding is still open: a second one is not started."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"an onboarding for this account already exists: {workflow_id}")
        self.workflow_id = workflow_id


def parse_contract(raw: str | bytes, now: datetime | None = None) -> Contract:
    """Validate a contract document; stamp signed_at with now when it is absent."""
    try:
        data = read_json(raw)
    except BadBody as e:
        raise ContractError(str(e)) from None
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


def chat_configured() -> bool:
    """Slack or Teams is set up (a half-configured one is the intake's and worker's error to report)."""
    try:
        found = Integrations.from_env()
    except IntegrationConfigError:
        return False
    return found.slack is not None or found.teams is not None


async def start(
    client: Client,
    contract: Contract,
    plan: Playbook | None = None,
    task_queue: str = TASK_QUEUE,
    crm: bool = False,
) -> WorkflowHandle[Any, Status]:
    """Start one onboarding with the segment's playbook snapshotted into its input.

    Its tasks go to the team's chat when Slack or Teams is configured now; `crm`: it started
    from a CRM deal, which hears back as the onboarding moves. Raises AlreadyOnboarding while
    the account has an open onboarding; after one that ended, the same workflow id starts a new run.
    """
    segment = contract.picked_segment()
    templates = available()
    plan = plan or variants.for_account(playbook.for_segment(segment, templates), contract.account_id, templates)
    try:
        return await client.start_workflow(
            WORKFLOW,
            OnboardingInput(contract=contract, playbook=plan, chat=chat_configured(), crm=crm),
            id=contract.workflow_id,
            task_queue=task_queue,
            result_type=Status,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
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


async def previous_outcome(client: Client, workflow_id: str) -> str | None:
    """How the account's last onboarding ended ('cancelled', 'failed', ...), or None: never onboarded, or open.

    Ask before `start`: afterwards the latest run is the new one.
    """
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    status = description.status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return None
    if status != WorkflowExecutionStatus.COMPLETED:
        return ENDED.get(status, status.name.lower())
    # A cancelled onboarding returns its status: the journey's own word says how it ended.
    last = client.get_workflow_handle(workflow_id, run_id=description.run_id, result_type=Status)
    try:
        return (await last.result(follow_runs=False)).state
    except (RPCError, ValueError, TypeError):  # a result from older code that does not read as today's Status
        return "completed"


def length(span: timedelta) -> str:
    """A playbook's length in words: '30 days', or '150 seconds' for a compressed test playbook."""
    if span >= timedelta(days=1):
        return f"{span.days} days"
    return f"{int(span.total_seconds())} seconds"
