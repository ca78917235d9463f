"""`python worker.py`: run the onboarding workflows and activities against the configured Temporal.

Start as many as the load needs, on one machine or many: they share the task queue, the
engine's database and the Temporal cluster, and any of them can pick up any onboarding.
Connection settings come from temporalio.envconfig (TEMPORAL_ADDRESS, TEMPORAL_PROFILE, ...),
the engine's from adapters.config, and the tuning below from WORKER_* variables
(docs/deploy.md lists them all). The schema is brought up to date before polling, so a
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
import os
import re
import signal
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from workflows.onboarding import OnboardingWorkflow

log = logging.getLogger("onboarding.worker")


# ---- tuning ------------------------------------------------------------------------------


class TuningError(ValueError):
    """A WORKER_* or LOG_LEVEL value that cannot be used; the message names each one at fault."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UNBOUNDED = float("inf")

# Tuning field: (environment variable, parse, lowest, highest, what is expected)
VARIABLES: dict[str, tuple[str, type[int] | type[float], float, float, str]] = {
    "max_concurrent_activities": ("WORKER_MAX_CONCURRENT_ACTIVITIES", int, 1, UNBOUNDED, "a whole number, at least 1"),
    # The SDK needs two workflow task slots at least: one for the sticky queue, one for the shared.
    "max_concurrent_workflow_tasks": (
        "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS",
        int,
        2,
        UNBOUNDED,
        "a whole number, at least 2",
    ),
    "max_cached_workflows": ("WORKER_MAX_CACHED_WORKFLOWS", int, 0, UNBOUNDED, "a whole number, at least 0"),
    "sticky_queue_timeout": ("WORKER_STICKY_QUEUE_SECONDS", float, 1, 3600, "a number of seconds, 1-3600"),
    "emails_per_second": ("WORKER_EMAILS_PER_SECOND", float, 0, UNBOUNDED, "a number, at least 0 (0: no limit)"),
    "graceful_shutdown": ("WORKER_GRACEFUL_SHUTDOWN_SECONDS", float, 0, 3600, "a number of seconds, 0-3600"),
    "metrics_port": ("WORKER_METRICS_PORT", int, 1, 65535, "a TCP port number, 1-65535"),
}


@dataclass(frozen=True)
class Tuning:
    """How hard one worker process works. The defaults suit a laptop and a small cluster alike."""

    max_concurrent_activities: int = 20
    # Workflow tasks share one interpreter lock: many at once only makes each slower, and one
    # that takes over 10 s times out. Fewer in hand, the rest wait on the server, unharmed.
    max_concurrent_workflow_tasks: int = 20
    max_cached_workflows: int = 1000
    # How long a cached onboarding's next workflow task waits for this worker before the server
    # hands it, with its whole history, to any worker, which must replay it. A worker that stopped
    # polling loses its tasks after 10 s whatever this says (the server notices the missing poller),
    # so this only decides how long a busy worker keeps what it already holds in memory. The SDK's
    # 10 s made a worker in a burst replay runs it had cached: more work just when it had the most.
    sticky_queue_timeout: timedelta = timedelta(seconds=60)
    emails_per_second: float = 25.0
    graceful_shutdown: timedelta = timedelta(seconds=30)
    metrics_port: int | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Tuning:
        """Read the WORKER_* variables and LOG_LEVEL; unset or empty means the default."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems: list[str] = []
        for field, (name, parse, lowest, highest, expected) in VARIABLES.items():
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                values[field] = parse(raw)
            except ValueError:
                values[field] = None
            if values[field] is None or not lowest <= values[field] <= highest:
                problems.append(f"{name}: expected {expected}, got {raw!r}")
        level = env.get("LOG_LEVEL", "").strip().upper() or cls.log_level
        if level not in LOG_LEVELS:
            problems.append(f"LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {env['LOG_LEVEL']!r}")
        if problems:
            raise TuningError("\n".join(problems))
        for seconds in ("graceful_shutdown", "sticky_queue_timeout"):
            if seconds in values:
                values[seconds] = timedelta(seconds=values[seconds])
        return cls(log_level=level, **values)


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
    the email backend and the roster they use are fixed for the worker's life.

    The send rate is Temporal's task-queue activity rate limit: the server hands out at most
    `emails_per_second` activity tasks a second on the queue, across every worker polling it
    (emails are nearly all of them), and no activity slot is held while one waits its turn.
    """
    tuning = tuning or Tuning()
    runtime = client.service_client.config.runtime or Runtime.default()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[OnboardingWorkflow],
        activities=activities.for_worker(settings or Settings.from_env()),
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
        "worker polling task queue %r as %s (%d concurrent activities, %d cached workflows, %s emails/s, metrics %s)",
        TASK_QUEUE,
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
