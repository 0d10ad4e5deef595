"""The SQL sink against real SQLite and PostgreSQL: typed round trip, idempotent upserts, batches."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import COLUMNS, JSON_COLUMNS
from airflow_provider_leadact.sinks.sql import SqlSink, validate_table_name
from tests.support.sql import as_records, fetch_rows, strictly_equal


def column_types(conn_id: str, table: str) -> dict[str, str]:
    connection = BaseHook.get_connection(conn_id)
    if connection.conn_type == "sqlite":
        db = sqlite3.connect(connection.host)
        try:
            return {row[1]: row[2] for row in db.execute(f"PRAGMA table_info({table})")}
        finally:
            db.close()
    import psycopg2

    db = psycopg2.connect(host=connection.host, port=connection.port, user=connection.login, dbname=connection.schema)
    try:
        with db.cursor() as cursor:
            schema, _, name = table.rpartition(".")
            cursor.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = %s AND table_schema = %s",
                (name, schema or "public"),
            )
            return dict(cursor.fetchall())
    finally:
        db.close()


@pytest.fixture(params=["sqlite", "postgres"])
def conn_id(request) -> str:
    return request.getfixturevalue(f"{request.param}_conn_id")


@pytest.fixture
def truth(activity_sandbox, truth_records) -> dict[str, dict[str, Any]]:
    # A spread of leads: every data shape, without the two largest (the operator tests have them).
    ids = activity_sandbox.lead_ids()
    return truth_records([i for i in ids if len(activity_sandbox.truth(i)) < 400][:30])


def test_round_trip_equals_ground_truth(conn_id: str, table_name: str, truth) -> None:
    sink = SqlSink(conn_id, table=table_name, batch_size=250)
    assert sink.write(iter(truth.values())) == len(truth) > 500
    strictly_equal(as_records(fetch_rows(conn_id, table_name)), truth)


def test_table_has_typed_and_json_columns(conn_id: str, table_name: str) -> None:
    sink = SqlSink(conn_id, table=table_name)
    sink.prepare()
    types = {k: v.lower() for k, v in column_types(conn_id, table_name).items()}
    assert list(types) == list(COLUMNS)
    json_type = "jsonb" if conn_id.endswith("postgres") else "text"
    assert {types[c] for c in JSON_COLUMNS} == {json_type}
    assert types["event_code"] == "bigint"
    assert types["created_on"].startswith("timestamp")


def test_rewriting_upserts_without_duplicates(conn_id: str, table_name: str, truth) -> None:
    records = list(truth.values())
    sink = SqlSink(conn_id, table=table_name, batch_size=100)
    sink.write(records)
    changed = {**records[3], "event_name": "Renamed \u2013 \u0928\u092f\u093e", "data": {"k": "v"}}

    # A second run over the same interval, overlapping and with one activity changed since.
    SqlSink(conn_id, table=table_name, batch_size=64).write([*records[:50], changed, *records[50:]])

    strictly_equal(as_records(fetch_rows(conn_id, table_name)), {**truth, changed["id"]: changed})


def test_batches_before_a_failure_stay_committed(conn_id: str, table_name: str, truth) -> None:
    records = list(truth.values())

    def failing() -> Iterator[dict[str, Any]]:
        yield from records[:25]
        raise RuntimeError("the API went away")

    with pytest.raises(RuntimeError):
        SqlSink(conn_id, table=table_name, batch_size=10).write(failing())
    # Two whole batches are in; the third, unfinished, is not.
    assert len(fetch_rows(conn_id, table_name)) == 20

    SqlSink(conn_id, table=table_name, batch_size=10).write(records)  # the retry
    strictly_equal(as_records(fetch_rows(conn_id, table_name)), truth)


def test_schema_qualified_table(postgres_conn_id: str, table_name: str, truth) -> None:
    hook = BaseHook.get_hook(postgres_conn_id)
    hook.run("CREATE SCHEMA IF NOT EXISTS crm")
    table = f"crm.{table_name}"
    SqlSink(postgres_conn_id, table=table).write(truth.values())
    strictly_equal(as_records(fetch_rows(postgres_conn_id, table)), truth)


@pytest.mark.parametrize(
    "table",
    [
        "activities; DROP TABLE x",
        'a"b',
        "a.b.c",
        "1table",
        "",
        "tab le",
        "schema.",
        "x" * 64,
        "activities--",
    ],
)
def test_table_name_must_be_an_identifier(table: str) -> None:
    with pytest.raises(LeadSquaredConfigError, match="identifier"):
        validate_table_name(table)
    with pytest.raises(LeadSquaredConfigError):
        SqlSink("any_conn", table=table)


def test_a_connection_that_is_not_sql_is_refused(activity_sandbox, table_name: str) -> None:
    with pytest.raises(LeadSquaredConfigError, match="not a SQL"):
        SqlSink("leadsquared_default", table=table_name).prepare()
