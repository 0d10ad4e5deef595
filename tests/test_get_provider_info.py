"""The provider info is what Airflow's providers manager accepts, and says what the code does."""

from __future__ import annotations

import importlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import airflow
import jsonschema
import pytest
from airflow.sdk import Connection

from airflow_provider_leadact import __version__
from airflow_provider_leadact.connection import settings_from_connection
from airflow_provider_leadact.extras import EXTRA_BY_NAME
from airflow_provider_leadact.get_provider_info import get_provider_info

#: The schema the installed Airflow validates every provider's info against.
SCHEMA = Path(airflow.__file__).parent / "provider_info.schema.json"


@pytest.fixture(scope="module")
def info() -> dict[str, Any]:
    return get_provider_info()


def test_the_provider_info_is_valid_under_airflows_schema(info: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(instance=info, schema=schema, cls=jsonschema.Draft7Validator)


def test_every_integration_named_is_declared(info: dict[str, Any]) -> None:
    declared = [item["integration-name"] for item in info["integrations"]]
    assert len(declared) == len(set(declared))
    named = {item["integration-name"] for section in ("hooks", "operators") for item in info[section]}
    for transfer in info["transfers"]:
        named |= {transfer["source-integration-name"], transfer["target-integration-name"]}
    assert named == set(declared)


def test_the_transfers_are_the_operators_that_move_activities(info: dict[str, Any]) -> None:
    from airflow_provider_leadact.operators import (
        LeadSquaredActivitiesToObjectStorageOperator,
        LeadSquaredActivitiesToSqlOperator,
        LeadSquaredActivityFilesToSqlOperator,
        LeadSquaredChangedActivitiesToObjectStorageOperator,
        LeadSquaredChangedActivitiesToSqlOperator,
    )

    by_module: dict[str, set[tuple[str, str]]] = {}
    for transfer in info["transfers"]:
        pair = (transfer["source-integration-name"], transfer["target-integration-name"])
        by_module.setdefault(transfer["python-module"], set()).add(pair)
    for operator, pair in [
        (LeadSquaredActivitiesToObjectStorageOperator, ("LeadSquared", "Object Storage")),
        (LeadSquaredChangedActivitiesToObjectStorageOperator, ("LeadSquared", "Object Storage")),
        (LeadSquaredActivitiesToSqlOperator, ("LeadSquared", "SQL Databases")),
        (LeadSquaredChangedActivitiesToSqlOperator, ("LeadSquared", "SQL Databases")),
        (LeadSquaredActivityFilesToSqlOperator, ("Object Storage", "SQL Databases")),
    ]:
        assert pair in by_module.get(operator.__module__, set()), operator.__name__


def test_every_module_and_class_named_imports(info: dict[str, Any]) -> None:
    modules = {m for section in ("hooks", "operators") for item in info[section] for m in item["python-modules"]}
    modules |= {item["python-module"] for item in info["transfers"]}
    for name in sorted(modules):
        importlib.import_module(name)
    for conn_type in info["connection-types"]:
        module, _, cls = conn_type["hook-class-name"].rpartition(".")
        assert getattr(importlib.import_module(module), cls).conn_type == conn_type["connection-type"]


def test_the_name_and_version_are_the_distributions(info: dict[str, Any]) -> None:
    assert info["versions"] == [__version__]
    assert info["package-name"] == metadata.metadata("airflow-provider-leadact")["Name"]
    assert metadata.version("airflow-provider-leadact") == __version__


def test_the_forms_extra_placeholder_is_a_valid_extra_at_the_declared_default(info: dict[str, Any]) -> None:
    (conn_type,) = info["connection-types"]
    placeholder = conn_type["ui-field-behaviour"]["placeholders"]["extra"]
    extra = json.loads(placeholder)
    assert extra["rate_limit_backend"] == EXTRA_BY_NAME["rate_limit_backend"].default
    conn = Connection(
        conn_id="lsq", conn_type="leadsquared", host="api-in21.leadsquared.com", login="a" * 20, password="b" * 20
    )
    conn.extra = placeholder
    settings = settings_from_connection(conn)
    assert str(settings.rate_limit_backend) == EXTRA_BY_NAME["rate_limit_backend"].default
