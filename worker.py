"""`python worker.py`: run the onboarding workflows and activities against the configured Temporal.

Start as many as the load needs, on one machine or many: they share the task queue, the
engine's database and the Temporal cluster, and any of them can pick up any onboarding.
Connection settings come from temporalio.envconfig (TEMPORAL_ADDRESS, TEMPORAL_PROFILE, ...),
the engine's from adapters.config, and the tuning and role from WORKER_* variables
(tuning.py; docs/deploy.md lists them all). The schema is brought up to date before polling, so a
worker started alone on a fresh database works; in the compose stack the migration job has
already done it and this is a no-op.

SIGTERM (or Ctrl-C) stops polling, lets in-flight activities finish for up to
WORKER_GRACEFUL_SHUTDOWN_SECONDS, and exits 0: a rolling deploy never cuts an email short.
Logs are JSON lines carrying the workflow id; email addresses are masked in every line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import MetricMeter, WorkerDeploymentVersion
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Worker,
)

import activities
import deployment
from adapters.config import TASK_QUEUE, Settings
from adapters.db import upgrade
from cli.shutdown import exit_after
from connection import connect
from onboarding.effects import EmailRequest, EscalationRequest, RecordBatch
from tuning import Tuning, TuningError
from workflows.onboarding import OnboardingWorkflow

log = logging.getLogger("onboarding.worker")


# ---- what the worker adds around each activity: the engine's counters ----------------------


class EngineInterceptor(Interceptor):
    """Counts what the engine did (emails sent, escalations opened)."""

    def __init__(self, meter: MetricMeter) -> None:
        self.emails_sent = meter.create_counter(
            "onboarding_emails_sent", "Emails the engine sent (send_email activities completed)", "emails"
        )
        self.escalations_opened = meter.create_counter(
            "onboarding_escalations_opened",
            "Escalations and staff tasks opened as human tasks",
            "escalations",
        )

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingInbound(next, self)


class _CountingInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, engine: EngineInterceptor) -> None:
        super().__init__(next)
        self.engine = engine

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        request = input.args[0] if input.args else None
        result = await self.next.execute_activity(input)
        if isinstance(request, EmailRequest):
            self.engine.emails_sent.with_additional_attributes({"template": request.template}).add(1)
            activity.logger.info("email sent: %s to the %s", request.template, request.to.role)
        opened = [request] if isinstance(request, EscalationRequest) else []
        if isinstance(request, RecordBatch):  # the records lane opens tasks in its batch
            opened = request.opened
        for task in opened:
            self.engine.escalations_opened.with_additional_attributes({"rule": task.rule, "kind": task.kind}).add(1)
            activity.logger.info("%s opened: %s, assigned to %s", task.kind, task.rule, task.assignee)
        return result


def build_worker(
    client: Client,
    task_queue: str = TASK_QUEUE,
    tuning: Tuning | None = None,
    settings: Settings | None = None,
    version: WorkerDeploymentVersion | None = None,
) -> Worker:
    """The worker for the onboarding workflow and every activity, tuned as given (defaults otherwise).

    The activities get `settings` (the environment's, read now, when not given): the database,
    the email backend and the roster they use are fixed for the worker's life. A worker in the
    workflows role registers them too, for the records lane's local activities, but takes no
    activity task from the queue; one in the activities role runs no workflow.

    The send rate is Temporal's task-queue activity rate limit: the server hands out at most
    `emails_per_second` activity tasks a second on the queue, across every worker polling it
    (emails are nearly all of them), and no activity slot is held while one waits its turn.
    """
    tuning = tuning or Tuning()
    runtime = client.service_client.config.runtime or Runtime.default()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OnboardingWorkflow] if tuning.runs_workflows else [],
        activities=activities.for_worker(settings or Settings.from_env()),
        no_remote_activities=not tuning.runs_activities,
        activity_executor=ThreadPoolExecutor(tuning.max_concurrent_activities),
        max_concurrent_activities=tuning.max_concurrent_activities,
        max_concurrent_workflow_tasks=tuning.max_concurrent_workflow_tasks,
        max_cached_workflows=tuning.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=tuning.sticky_queue_timeout,
        graceful_shutdown_timeout=tuning.graceful_shutdown,
        max_task_queue_activities_per_second=tuning.emails_per_second or None,
        interceptors=[EngineInterceptor(runtime.metric_meter)],
        deployment_config=deployment.config(version) if version else None,
    )


# ---- logs and metrics ----------------------------------------------------------------------

EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
CREDENTIAL = re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+|\bSG\.[\w-]{8,}\.[\w-]{8,}")


def redact(text: str) -> str:
    """Mask email addresses and credentials (bearer tokens, SendGrid keys) wherever they appear:
    logs are read by more people, and kept longer, than the customer data is."""
    return CREDENTIAL.sub("<credential>", EMAIL_ADDRESS.sub("<email>", text))


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line; records from a workflow or activity carry its workflow id."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        details = getattr(record, "temporal_workflow", None) or getattr(record, "temporal_activity", None) or {}
        for field in ("workflow_id", "run_id", "workflow_type", "activity_type", "attempt"):
            if field in details:
                entry[field] = details[field]
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # ten lines of noise a start
    # At DEBUG these SDK loggers print activity results and workflow payloads: staff and customer
    # names when payloads are not encrypted. They stay at INFO or above.
    for payload_logger in ("temporalio.worker._activity", "temporalio.worker._workflow_instance"):
        logging.getLogger(payload_logger).setLevel(max(logging.INFO, logging.getLogger().level))
    # The workflow id travels as a JSON field, not appended to the message text.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False


def install_runtime(metrics_port: int | None) -> None:
    """SDK core logs flow through Python logging; SDK and engine metrics go to Prometheus if a port is set."""
    metrics = PrometheusConfig(bind_address=f"0.0.0.0:{metrics_port}") if metrics_port else None
    Runtime.set_default(
        Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                ),
                metrics=metrics,
            )
        )
    )


# ---- the process ---------------------------------------------------------------------------

ROLE_WORDS = {"all": "workflows and activities", "workflows": "workflows only", "activities": "activities only"}


async def serve(tuning: Tuning) -> None:
    """Poll until SIGTERM or SIGINT, then shut down gracefully; a worker failure propagates."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    settings = Settings.from_env()
    upgrade(settings.database_url)
    install_runtime(tuning.metrics_port)
    client = await connect()
    version = deployment.version() if deployment.versioned() else None
    worker = build_worker(client, TASK_QUEUE, tuning, settings, version)
    running = asyncio.create_task(worker.run())
    if version is not None:
        await deployment.settle(client, version.build_id, deployment.make_current_mode())
    stopping = asyncio.create_task(stop.wait())
    log.info(
        "worker polling task queue %r for %s as %s (%d concurrent activities, %d cached workflows, %s emails/s, "
        "metrics %s)",
        TASK_QUEUE,
        ROLE_WORDS[tuning.role],
        f"build {version.build_id} of deployment {deployment.DEPLOYMENT!r}" if version else "an unversioned worker",
        tuning.max_concurrent_activities,
        tuning.max_cached_workflows,
        tuning.emails_per_second or "unlimited",
        f"on :{tuning.metrics_port}" if tuning.metrics_port else "off",
    )
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stop.is_set():
        log.info("stopping: no new tasks; in-flight activities get up to %ss", tuning.graceful_shutdown.total_seconds())
        await worker.shutdown()
    stopping.cancel()
    await running
    log.info("worker stopped")


def main() -> int:
    try:
        tuning = Tuning.from_env()
        deployment.versioned(), deployment.make_current_mode()
    except (TuningError, deployment.SettingError) as e:
        print(f"worker settings refused:\n{e}", file=sys.stderr)
        return 2
    configure_logging(tuning.log_level)
    asyncio.run(serve(tuning))
    return 0


if __name__ == "__main__":
    exit_after(main)
