"""The worker as ops run it: its settings from the environment, its logs, its send rate."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from tests.conftest import contract
from tuning import Tuning, TuningError
from worker import JsonLogFormatter, build_worker

ROOT = Path(__file__).resolve().parent.parent


def test_without_settings_the_worker_uses_the_documented_defaults() -> None:
    assert Tuning.from_env({}) == Tuning(
        role="all",
        max_concurrent_activities=20,
        max_concurrent_workflow_tasks=20,
        max_cached_workflows=1000,
        sticky_queue_timeout=timedelta(seconds=60),
        emails_per_second=25.0,
        graceful_shutdown=timedelta(seconds=30),
        metrics_port=None,
        log_level="INFO",
    )


def test_every_setting_is_read_from_its_variable() -> None:
    tuning = Tuning.from_env(
        {
            "WORKER_ROLE": "Workflows",
            "WORKER_MAX_CONCURRENT_ACTIVITIES": "50",
            "WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": "8",
            "WORKER_MAX_CACHED_WORKFLOWS": "0",
            "WORKER_STICKY_QUEUE_SECONDS": "15",
            "WORKER_EMAILS_PER_SECOND": "2.5",
            "WORKER_GRACEFUL_SHUTDOWN_SECONDS": "90",
            "WORKER_METRICS_PORT": "9464",
            "LOG_LEVEL": "debug",
        }
    )
    assert tuning == Tuning(
        role="workflows",
        max_concurrent_activities=50,
        max_concurrent_workflow_tasks=8,
        max_cached_workflows=0,
        sticky_queue_timeout=timedelta(seconds=15),
        emails_per_second=2.5,
        graceful_shutdown=timedelta(seconds=90),
        metrics_port=9464,
        log_level="DEBUG",
    )


def test_bad_settings_are_refused_naming_each_variable_and_what_it_expects() -> None:
    with pytest.raises(TuningError) as refused:
        Tuning.from_env(
            {
                "WORKER_MAX_CONCURRENT_ACTIVITIES": "lots",
                "WORKER_STICKY_QUEUE_SECONDS": "0",
                "WORKER_EMAILS_PER_SECOND": "-1",
                "WORKER_METRICS_PORT": "70000",
                "WORKER_ROLE": "emails",
                "LOG_LEVEL": "chatty",
            }
        )
    assert str(refused.value).splitlines() == [
        "WORKER_MAX_CONCURRENT_ACTIVITIES: expected a whole number, at least 1, got 'lots'",
        "WORKER_STICKY_QUEUE_SECONDS: expected a number of seconds, 1-3600, got '0'",
        "WORKER_EMAILS_PER_SECOND: expected a number, at least 0 (0: no limit), got '-1'",
        "WORKER_METRICS_PORT: expected a TCP port number, 1-65535, got '70000'",
        "WORKER_ROLE: expected one of all, workflows, activities, got 'emails'",
        "LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'chatty'",
    ]


async def test_the_worker_hands_its_tuning_to_the_sdk(env: WorkflowEnvironment) -> None:
    tuning = Tuning(max_cached_workflows=7, sticky_queue_timeout=timedelta(seconds=45), emails_per_second=3)
    config = build_worker(env.client, "tuned", tuning).config()
    assert config["max_cached_workflows"] == 7
    assert config["sticky_queue_schedule_to_start_timeout"] == timedelta(seconds=45)
    assert config["max_task_queue_activities_per_second"] == 3
    assert config["workflows"] and config["activities"] and not config["no_remote_activities"]


async def test_a_workflows_worker_takes_no_activity_task_and_an_activities_worker_no_workflow(
    env: WorkflowEnvironment,
) -> None:
    workflows = build_worker(env.client, "split", Tuning(role="workflows")).config()
    assert workflows["workflows"] and workflows["no_remote_activities"]
    assert workflows["activities"], "the records lane's local activities run beside the workflow"
    activities = build_worker(env.client, "split", Tuning(role="activities")).config()
    assert not activities["workflows"] and activities["activities"] and not activities["no_remote_activities"]


def test_a_worker_with_bad_settings_exits_2_before_touching_the_database(tmp_path: Path) -> None:
    database = tmp_path / "onboarding.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "WORKER_MAX_CACHED_WORKFLOWS": "-5"}
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "WORKER_MAX_CACHED_WORKFLOWS: expected a whole number, at least 0, got '-5'" in done.stderr
    assert not database.exists()


async def test_logs_carry_the_workflow_id_and_never_an_email_address(env: WorkflowEnvironment, onboard) -> None:
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonLogFormatter())
    logger, level = activity.logger.base_logger, activity.logger.base_logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    activity.logger.activity_info_on_message = False  # as worker.configure_logging sets it
    try:
        run = await onboard("smb")
        await env.sleep(timedelta(days=1, hours=1))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        activity.logger.activity_info_on_message = True
    entries = [json.loads(line) for line in lines.getvalue().splitlines()]
    sent = [e for e in entries if e["message"].startswith("email sent")]
    assert {e["message"] for e in sent} >= {
        "email sent: welcome to the champion",
        "email sent: setup_day1 to the champion",
    }
    assert all(e["workflow_id"] == run.handle.id and e["activity_type"] == "send_email" for e in sent)
    people = contract("smb")
    addresses = [c["email"] for c in people["contacts"]] + [people["sales_rep"]["email"]]
    assert not [a for a in addresses if a in lines.getvalue()]


def test_addresses_and_credentials_are_masked_in_messages_and_errors() -> None:
    try:
        raise RuntimeError("401 from SendGrid for tom@brightpath.example, key SG.abcdefghijkl.mnopqrstuvwx")
    except RuntimeError:
        record = logging.LogRecord(
            "onboarding", logging.ERROR, __file__, 1, "bounce from %s", ("priya@brightpath.example",), sys.exc_info()
        )
    record.temporal_activity = {"workflow_id": "onboarding-brightpath-dental", "activity_type": "send_email"}
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry["message"] == "bounce from <email>"
    assert entry["workflow_id"] == "onboarding-brightpath-dental"
    assert "401 from SendGrid for <email>, key <credential>" in entry["error"]
    assert "brightpath.example" not in json.dumps(entry) and "SG.abc" not in json.dumps(entry)
