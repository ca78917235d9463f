"""What docker-compose.yml, the Dockerfile and the deploy/ files promise, held against the code.

Docker cannot run here, so these read the files: the search attributes the namespace job
registers are the ones the workflow sets, the commands the services run exist and work, the
variables they set are ones the code reads, the secrets come from .env, the image runs as a
non-root user. Where a real tool can check more (`docker-compose config`, the namespace
script against a real Temporal server, the temporal.toml profiles through temporalio's own
loader), it does.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfig, ClientConfigProfile

from adapters.config import Environment, variable
from connection import binary
from deploy.requirements import LAPTOP_ONLY, runtime_requirements
from tests.test_scale_out import dev_server_running
from tuning import CHOICES, VARIABLES
from workflows import attributes

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ENGINE_IMAGE = "onboarding-engine:"
ENGINE = {name: s for name, s in SERVICES.items() if str(s.get("image", "")).startswith(ENGINE_IMAGE)}
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
PROFILES = ROOT / "deploy" / "temporal.toml"


def type_name(value: int) -> str:
    """IndexedValueType 2 -> 'Keyword', as the temporal CLI spells it."""
    return IndexedValueType.Name(value).removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")  # type: ignore[arg-type]


def registered() -> set[tuple[str, str]]:
    pairs = SERVICES["temporal-namespace"]["environment"]["SEARCH_ATTRIBUTES"].split()
    return {(name, kind) for name, kind in (pair.split("=") for pair in pairs)}


def engine_source_strings() -> set[str]:
    """Every string constant in the engine's own Python code: the names it can read from os.environ."""
    found: set[str] = set()
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in ("tests", "build") or parts[0].startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    # pydantic-settings reads a variable named after each field of adapters.config.Environment.
    return found | {variable(name) for name in Environment.model_fields}


def envconfig_reads(name: str) -> bool:
    """Does temporalio.envconfig act on this variable? Set it and see whether the connection changes."""
    probes = {"TEMPORAL_CONFIG_FILE": str(PROFILES), "TEMPORAL_PROFILE": "cloud", "TEMPORAL_TLS": "true"}
    base = {} if name == "TEMPORAL_CONFIG_FILE" else {"TEMPORAL_CONFIG_FILE": str(PROFILES)}
    probe = probes.get(name, "probe.example:7233")
    before = ClientConfig.load_client_connect_config(override_env_vars=base)
    after = ClientConfig.load_client_connect_config(override_env_vars={**base, name: probe})
    return before != after


# ---- the search attributes ---------------------------------------------------------------------


def test_the_namespace_job_registers_exactly_the_search_attributes_the_workflow_sets() -> None:
    assert registered() == {(key.name, type_name(int(key.indexed_value_type))) for key in attributes.ALL}


async def test_the_namespace_script_creates_the_namespace_and_attributes_on_a_real_server(tmp_path: Path) -> None:
    script = ROOT / "deploy" / "temporal" / "setup-namespace.sh"
    with dev_server_running(tmp_path, search_attributes=False) as address:
        env = {
            "PATH": f"{Path(binary('temporal')).parent}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_NAMESPACE": "onboarding",
            "SEARCH_ATTRIBUTES": SERVICES["temporal-namespace"]["environment"]["SEARCH_ATTRIBUTES"],
        }
        first = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=120)
        again = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True, timeout=120)
        client = await Client.connect(address)
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="onboarding")
        )
    assert first.returncode == 0, first.stdout + first.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert "namespace onboarding exists" in again.stdout
    assert {(name, type_name(kind)) for name, kind in listed.custom_attributes.items()} == registered()


# ---- the services and what they run ----------------------------------------------------------


def test_the_engine_services_run_the_worker_the_migrations_and_the_intake() -> None:
    assert ENGINE.keys() == {"engine-migrate", "worker", "intake", "worker-current"}
    assert all(s["build"] == "." for s in ENGINE.values())
    assert SERVICES["worker"]["command"] == ["python", "worker.py"]
    assert SERVICES["engine-migrate"]["command"] == ["python", "admin.py", "db", "upgrade"]
    assert SERVICES["intake"]["command"] == ["python", "starter.py", "serve"]
    assert SERVICES["worker-current"]["command"] == ["python", "deployment.py", "set-current"]


def test_the_migration_job_brings_a_database_to_the_schema(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    done = subprocess.run(
        SERVICES["engine-migrate"]["command"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout


def test_the_intake_command_exists() -> None:
    command = [*SERVICES["intake"]["command"], "--help"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--port" in done.stdout and "--host" in done.stdout


def test_workers_start_only_after_the_migrations_and_the_namespace() -> None:
    def waits_for(service: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in SERVICES[service]["depends_on"].items()}

    assert waits_for("temporal-schema") == {"temporal-postgresql": "service_healthy"}
    assert waits_for("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert waits_for("temporal-namespace") == {"temporal": "service_healthy"}
    assert waits_for("engine-migrate") == {"onboarding-postgresql": "service_healthy"}
    for service in ("worker", "intake"):
        assert waits_for(service) == {
            "engine-migrate": "service_completed_successfully",
            "temporal-namespace": "service_completed_successfully",
        }


def test_the_engine_services_set_only_variables_the_code_reads() -> None:
    known = engine_source_strings()
    for name, service in ENGINE.items():
        unread = [var for var in service["environment"] if var not in known and not envconfig_reads(var)]
        assert not unread, f"{name} sets variables no code reads: {unread}"


def test_every_worker_tuning_setting_is_set_by_compose_and_explained_in_env_example() -> None:
    tuning = {name for name, *_ in VARIABLES.values()} | {name for name, _ in CHOICES.values()}
    assert tuning <= SERVICES["worker"]["environment"].keys()
    assert not [name for name in tuning - {"WORKER_METRICS_PORT"} if f"{name}=" not in ENV_EXAMPLE]
    assert SERVICES["worker"]["environment"]["WORKER_METRICS_PORT"] == 9464
    assert SERVICES["worker"]["expose"] == ["9464"]


def test_images_are_pinned_to_versions() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        if name in ENGINE:
            continue
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+)+", image), f"{name}: {image} is not pinned to a version"
    assert SERVICES["temporal"]["image"].split(":")[1] == SERVICES["temporal-namespace"]["image"].split(":")[1]


# ---- secrets ---------------------------------------------------------------------------------


def test_secrets_come_from_the_env_file_and_env_example_names_every_variable() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    bare = {var for s in ENGINE.values() for var, value in s["environment"].items() if value is None}
    documented = set(re.findall(r"^#?\s*(\w+)=", ENV_EXAMPLE, flags=re.MULTILINE))
    assert not (interpolated | bare) - documented, "variables .env.example does not mention"
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert {"TEMPORAL_DB_PASSWORD", "ONBOARDING_DB_PASSWORD", "INTAKE_SECRET"} <= required
    for name, service in SERVICES.items():
        for var, value in (service.get("environment") or {}).items():
            if re.search("PASSWORD|PWD|SECRET|API_KEY", var):
                assert value is None or "${" in str(value), f"{name}: {var} is written into the compose file"


def test_the_env_file_stays_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and "!.env.example" in ignored and "deploy/tls/" in ignored


@pytest.mark.skipif(not shutil.which("docker-compose"), reason="needs docker-compose (apt-get install docker-compose)")
def test_docker_compose_accepts_the_file_with_the_example_settings() -> None:
    done = subprocess.run(
        ["docker-compose", "--env-file", ".env.example", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# ---- the image -------------------------------------------------------------------------------


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, one a line, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_image_runs_the_worker_as_a_non_root_user_on_a_pinned_python() -> None:
    instructions = dockerfile()
    base = next(line for line in instructions if line.startswith("FROM "))
    assert re.fullmatch(r"FROM python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert instructions[-1] == 'CMD ["python", "worker.py"]'
    assert any("requirements.py" in line and "pip install -r" in line for line in instructions)
    assert "COPY pyproject.toml deploy/requirements.py /tmp/build/" in instructions


def test_the_image_ships_its_code_compiled() -> None:
    """No bytecode is written at run time, so it must be there already: otherwise every workflow
    run the sandbox builds compiles workflows/onboarding.py again."""
    instructions = dockerfile()
    assert any(line.startswith("ENV ") and "PYTHONDONTWRITEBYTECODE=1" in line for line in instructions)
    compiled = instructions.index("RUN python -m compileall -q /app")
    assert compiled > instructions.index("COPY . .")
    assert compiled < instructions.index("USER engine"), "compiled as root: the service user cannot write /app"


def test_the_image_installs_every_runtime_dependency_from_pyproject() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = runtime_requirements(ROOT / "pyproject.toml")
    assert set(declared) - set(installed) == {d for d in declared if d.split(">")[0] in LAPTOP_ONLY}
    printed = subprocess.run(
        [sys.executable, "deploy/requirements.py"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert printed.stdout.split() == installed


# ---- temporal.toml profiles --------------------------------------------------------------------


def test_the_default_profile_is_the_compose_cluster() -> None:
    config = ClientConfig.load_client_connect_config(override_env_vars={"TEMPORAL_CONFIG_FILE": str(PROFILES)})
    assert config == {"target_host": "temporal:7233", "namespace": "default"}


def test_the_self_hosted_profile_connects_with_mutual_tls() -> None:
    profile = ClientConfigProfile.load("selfhosted-mtls", config_source=PROFILES, config_file_strict=True)
    assert profile.tls is not None and profile.api_key is None
    assert profile.tls.client_cert == Path("/etc/onboarding/tls/client.pem")
    assert profile.tls.client_private_key == Path("/etc/onboarding/tls/client.key")
    assert profile.tls.server_root_ca_cert == Path("/etc/onboarding/tls/ca.pem")
    assert profile.tls.server_name == "temporal.internal.example.com"


def test_the_cloud_profile_takes_its_api_key_from_the_environment_and_turns_tls_on() -> None:
    env = {"TEMPORAL_CONFIG_FILE": str(PROFILES), "TEMPORAL_PROFILE": "cloud", "TEMPORAL_API_KEY": "key-from-env"}
    config = ClientConfig.load_client_connect_config(override_env_vars=env)
    assert config == {
        "target_host": "us-east-1.aws.api.temporal.io:7233",
        "namespace": "onboarding.a1b2c",
        "api_key": "key-from-env",
        "tls": True,
    }
    profiles = tomllib.loads(PROFILES.read_text())["profile"]
    assert not [name for name, profile in profiles.items() if "api_key" in profile], "keys belong in .env"
