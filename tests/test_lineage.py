"""How the operators' OpenLineage datasets are named (the example DAGs' events are in tests/integration)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_leadact import lineage
from airflow_provider_leadact.records import RECORD_COLUMNS
from tests.support.connections import connection_json
from tests.support.sandbox import KEYS


@pytest.mark.parametrize(
    ("url", "namespace", "name"),
    [
        ("file:///data/ls/part-00000.jsonl", "file", "/data/ls/part-00000.jsonl"),
        ("/data/ls/a.csv", "file", "/data/ls/a.csv"),
        ("s3://aws_default@bucket/ls/ds=1/a.parquet", "s3://bucket", "ls/ds=1/a.parquet"),
        ("s3a://bucket/a.jsonl", "s3://bucket", "a.jsonl"),
        ("gs://google_cloud_default@bucket/ls/a.jsonl", "gs://bucket", "ls/a.jsonl"),
        ("gcs://bucket/a.jsonl", "gs://bucket", "a.jsonl"),
    ],
)
def test_files_are_named_as_the_openlineage_spec_says_without_the_connection(url, namespace, name) -> None:
    dataset = lineage.file_dataset(url)
    assert (dataset.namespace, dataset.name) == (namespace, name)


def test_the_source_is_the_api_host_and_endpoint_never_a_key(monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LS_LINEAGE", connection_json("api-in21.leadsquared.com"))
    dataset = lineage.source_dataset("ls_lineage", "/v2/ProspectActivity.svc/Retrieve")
    assert (dataset.namespace, dataset.name) == (
        "leadsquared://api-in21.leadsquared.com",
        "ProspectActivity.svc/Retrieve",
    )
    assert not {KEYS["access_key"], KEYS["secret_key"]} & set(json.dumps([dataset.namespace, dataset.name]).split('"'))


def test_tables_take_the_sql_hooks_database_info(monkeypatch) -> None:
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    # PostgreSQL's hook asks the server for its current schema: this one has no server.
    monkeypatch.setattr(PostgresHook, "get_openlineage_default_schema", lambda self: "public")
    postgres = {"conn_type": "postgres", "host": "db.example.com", "schema": "analytics", "login": "u", "password": "p"}
    monkeypatch.setenv("AIRFLOW_CONN_PG_LINEAGE", json.dumps(postgres))
    default = lineage.table_dataset("pg_lineage", "leadsquared_activities")
    assert (default.namespace, default.name) == (
        "postgres://db.example.com:5432",
        "analytics.public.leadsquared_activities",
    )
    assert lineage.table_dataset("pg_lineage", "crm.activities").name == "analytics.crm.activities"
    # SQLite's hook gives none: the connection's own conn_type://host.
    monkeypatch.setenv("AIRFLOW_CONN_LITE_LINEAGE", json.dumps({"conn_type": "sqlite", "host": "/data/leadact.db"}))
    lite = lineage.table_dataset("lite_lineage", "leadsquared_activities")
    assert (lite.namespace, lite.name) == ("sqlite:///data/leadact.db", "leadsquared_activities")


def test_outputs_carry_the_declared_columns_and_the_rows_written() -> None:
    output = lineage.written(lineage.file_dataset("file:///d/a.jsonl"), RECORD_COLUMNS, 42)
    assert [(f.name, f.type) for f in output.facets["schema"].fields] == [
        (c.name, c.type.value) for c in RECORD_COLUMNS
    ]
    assert output.outputFacets["outputStatistics"].rowCount == 42
    assert (
        "outputStatistics" not in lineage.written(lineage.file_dataset("/d/a.jsonl"), RECORD_COLUMNS, None).outputFacets
    )


def test_the_operators_import_nothing_of_openlineage() -> None:
    script = (
        "import sys, airflow_provider_leadact.operators, airflow_provider_leadact.example_dags.leadsquared_settings\n"
        # Airflow's providers manager reads every installed provider's info: that one is not ours.
        "print(sorted(m for m in sys.modules if m.startswith(('openlineage', 'airflow.providers.openlineage.'))\n"
        "             and not m.endswith('.get_provider_info')))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
