"""Worker Versioning: the worker deployment `onboarding`, one version per build of the engine.

Each worker says which build it is (the package version and the commit, or WORKER_BUILD_ID);
an onboarding stays on the build it started on (pinned) and moves to the current build at
its next continue-as-new. A new build takes new onboardings once it is made current:
`temporal worker deployment set-current-version --deployment-name onboarding --build-id ...`
(docs/deploy.md). A worker that finds the deployment with no current version makes its own
current, so `python worker.py` against a fresh server runs onboardings with no other step.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

DEPLOYMENT = "onboarding"
ROOT = Path(__file__).resolve().parent
MODES = ("if-none", "always", "never")
RETRYABLE = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.RESOURCE_EXHAUSTED)
"""The version has no poller yet, or the deployment's own rate limit (a few calls a second) is hit."""
log = logging.getLogger("onboarding.deployment")
T = TypeVar("T")


class SettingError(ValueError):
    """A WORKER_VERSIONING or WORKER_MAKE_CURRENT value the worker cannot use."""


def versioned() -> bool:
    """WORKER_VERSIONING: on (the default) polls as a version of the deployment; off, unversioned."""
    raw = os.environ.get("WORKER_VERSIONING", "on").strip().lower()
    if raw not in ("on", "off", "true", "false", "1", "0"):
        raise SettingError(f"WORKER_VERSIONING: expected on or off, got {raw!r}")
    return raw in ("on", "true", "1")


def make_current_mode() -> str:
    """WORKER_MAKE_CURRENT: if-none (the default), always (a local stack runs one build) or never."""
    raw = os.environ.get("WORKER_MAKE_CURRENT", "if-none").strip().lower()
    if raw not in MODES:
        raise SettingError(f"WORKER_MAKE_CURRENT: expected one of {', '.join(MODES)}, got {raw!r}")
    return raw


def commit() -> str | None:
    """The checkout's short commit id (GIT_COMMIT in an image built without .git)."""
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"][:12]
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def build_id() -> str:
    """WORKER_BUILD_ID, else `<package version>-<commit>` (`0.1.0-3f2a9c1b0d4e`)."""
    explicit = os.environ.get("WORKER_BUILD_ID", "").strip()
    if explicit:
        return explicit
    try:
        version = str(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "0"
    sha = commit()
    return f"{version}-{sha}" if sha else version


def version(build: str | None = None) -> WorkerDeploymentVersion:
    return WorkerDeploymentVersion(deployment_name=DEPLOYMENT, build_id=build or build_id())


def config(v: WorkerDeploymentVersion) -> WorkerDeploymentConfig:
    """Versioned polling; workflows pinned unless their definition says otherwise."""
    return WorkerDeploymentConfig(
        version=v, use_worker_versioning=True, default_versioning_behavior=VersioningBehavior.PINNED
    )


async def _patiently(call: Callable[[], Awaitable[T]], tries: int = 20) -> T:
    """The deployment's own calls are rate-limited (a few a second): wait and try again."""
    for attempt in range(tries):
        try:
            return await call()
        except RPCError as e:
            if e.status != RPCStatusCode.RESOURCE_EXHAUSTED or attempt == tries - 1:
                raise
        await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def current(client: Client) -> str | None:
    """The deployment's current build id; None when it has none (or does not exist yet)."""
    request = DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=DEPLOYMENT)
    try:
        response = await _patiently(lambda: client.workflow_service.describe_worker_deployment(request))
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    routing = response.worker_deployment_info.routing_config
    if routing.HasField("current_deployment_version") and routing.current_deployment_version.build_id:
        return routing.current_deployment_version.build_id
    return None


async def set_current(client: Client, build: str, identity: str = "onboarding-worker") -> None:
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=DEPLOYMENT, build_id=build, identity=identity
    )
    await _patiently(lambda: client.workflow_service.set_worker_deployment_current_version(request))


async def make_current_if_none(client: Client, build: str, seconds: float = 30) -> bool:
    """Make `build` current when the deployment has no current version; True if this did.

    The version exists once the worker has polled, so this retries for a while first."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            if await current(client) is not None:
                return False
            await set_current(client, build)
            return True
        except RPCError as e:
            if e.status not in RETRYABLE:
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.5)


async def settle(client: Client, build: str, mode: str) -> None:
    """After polling began: make this build current as `mode` says, and say where new onboardings go."""
    try:
        await _settle(client, build, mode)
    except RPCError as e:
        if e.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.PERMISSION_DENIED):
            raise RuntimeError(
                f"the Temporal server refused Worker Versioning ({e.message}); upgrade it to 1.28 or later,"
                " or run unversioned workers with WORKER_VERSIONING=off"
            ) from None
        raise


async def _settle(client: Client, build: str, mode: str) -> None:
    if mode == "always":
        await wait_and_set(client, build)
        log.info("worker build %s is the current version of deployment %r", build, DEPLOYMENT)
        return
    if mode == "if-none" and await make_current_if_none(client, build):
        log.info("deployment %r had no current version: made this build (%s) current", DEPLOYMENT, build)
        return
    now = await current(client)
    if now != build:
        log.warning(
            "worker build %s is not current (current: %s): it runs the onboardings pinned to it, new ones go to %s."
            " To move new onboardings here: temporal worker deployment set-current-version"
            " --deployment-name %s --build-id %s",
            build,
            now or "none",
            now or "nobody",
            DEPLOYMENT,
            build,
        )


async def wait_and_set(client: Client, build: str, seconds: float = 60) -> None:
    """Set `build` current, waiting (up to `seconds`) for a worker of it to have polled."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            await set_current(client, build)
            return
        except RPCError as e:
            if e.status not in RETRYABLE:
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(0.5)


def main() -> int:
    """`python deployment.py set-current [--build-id ID]`: the compose job's step after a deploy."""
    from connection import connect

    parser = argparse.ArgumentParser(description="The worker deployment's versions.")
    sub = parser.add_subparsers(dest="command", required=True)
    setter = sub.add_parser("set-current", help="make a build current once its workers poll (default: this one)")
    setter.add_argument("--build-id", default=None)
    sub.add_parser("build-id", help="print this checkout's build id")
    args = parser.parse_args()
    if args.command == "build-id":
        print(build_id())
        return 0

    async def run() -> None:
        build = args.build_id or build_id()
        await wait_and_set(await connect(), build)
        print(f"deployment {DEPLOYMENT}: build {build} is current")

    try:
        asyncio.run(run())
    except RPCError as e:
        print(f"cannot make the build current: {e.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
