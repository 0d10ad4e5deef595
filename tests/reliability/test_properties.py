"""Property tests that extend tests/test_paging.py and tests/test_records.py.

Those prove the paging logic on small in-process servers and the flattening on JSON. These
add what they leave out:

- paging at the real sizes (up to 5,000 activities, pages up to 5,000, caps up to 1,000), and
  through the hook over HTTP against the sandbox, under every reading of ``Paging.Offset`` and
  ``RecordCount``, with or without a row cap, learned or declared in the connection: each time
  exactly the ground truth, in the API's order;
- flattened ``Data``/``ActivityFields`` of any content, written by every sink (JSON Lines,
  CSV, Parquet, SQLite, PostgreSQL) and read back with plain libraries: no value lost or
  changed.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sqlite3
import uuid
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.paging import ServerProfile
from airflow_provider_leadact.records import JSON_COLUMNS, flatten_activity
from airflow_provider_leadact.sinks.formats import FORMATS, read_json_lines
from airflow_provider_leadact.sinks.sql import SqlSink
from tests.support.connections import connection_json
from tests.support.examples import activity as example_activity
from tests.support.paging import Server, fetch_all

READINGS = list(itertools.product(["page0", "page1", "row"], ["total", "page"]))

# -- paging ----------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    reading=st.sampled_from(READINGS),
    n=st.one_of(st.integers(0, 60), st.integers(0, 5000)),
    cap=st.one_of(st.none(), st.integers(1, 1000)),
)
def test_paging_at_real_sizes_is_exact(data, reading, n, cap) -> None:
    # Page sizes from 1 to the API's 5,000, drawn so that a lead needs at most ~200 calls.
    page_size = data.draw(st.integers(max(1, n // 200), 5000), label="page_size")
    server = Server(n, *reading, cap)
    assert fetch_all(server, page_size, ServerProfile()) == server.rows


@pytest.fixture(scope="module")
def lead_sizes(_keyed_sandbox_session) -> list[tuple[str, int]]:
    sandbox = _keyed_sandbox_session
    return sorted(((i, len(sandbox.truth(i))) for i in sandbox.lead_ids()), key=lambda item: item[1])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    reading=st.sampled_from(READINGS),
    cap=st.one_of(st.none(), st.integers(1, 1000)),
)
def test_paging_over_http_is_exact_under_every_reading(
    keyed_sandbox, monkeypatch, lead_sizes, data, reading, cap
) -> None:
    offset_mode, record_count = reading
    keyed_sandbox.configure(offset_mode=offset_mode, record_count=record_count, row_cap=cap)
    leads = data.draw(st.lists(st.sampled_from(lead_sizes), min_size=1, max_size=3), label="leads")
    largest = max(size for _, size in leads)
    page_size = data.draw(st.integers(max(1, largest // 25), 5000), label="page_size")
    extras: dict[str, Any] = {"page_size": page_size}
    monkeypatch.setenv("AIRFLOW_CONN_LSQ_PAGING", connection_json(keyed_sandbox.url, **extras))
    hook = LeadSquaredHook(leadsquared_conn_id="lsq_paging")
    try:
        # Several leads through one hook: what the first teaches must not break the next.
        for lead_id, _ in leads:
            assert list(hook.get_lead_activities(lead_id)) == keyed_sandbox.truth(lead_id)
    finally:
        hook.close()
        keyed_sandbox.configure(offset_mode="page0", record_count="total", row_cap=1000)


# -- flattening through every sink -----------------------------------------------------------

# JSON as the API can send it: no NaN or infinity (not JSON), and no NUL character, which
# PostgreSQL cannot store in text or JSONB (the README says so; SQLite and files keep it).
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=10,
)
data_shapes = st.one_of(
    # Key/Value pairs with distinct keys (a repeated Key keeps its last value: see the README).
    st.lists(st.fixed_dictionaries({"Key": text, "Value": values}), max_size=6, unique_by=lambda p: p["Key"]),
    st.dictionaries(text, values, max_size=6),
)
fields_shapes = st.dictionaries(text, st.one_of(values, values.map(json.dumps)), max_size=6)


def buffer_of(record: dict[str, Any], file_format: str = "jsonl") -> bytes:
    buffer = io.BytesIO()
    writer = FORMATS[file_format].writer(buffer)
    writer.write_batch([record])
    writer.finish()
    return buffer.getvalue()


def read_file(data: bytes, file_format: str) -> dict[str, Any]:
    if file_format == "jsonl":
        # str.splitlines(), as many readers do: it also breaks at U+0085, U+2028 and U+2029.
        (row,) = [json.loads(line) for line in data.decode("utf-8").splitlines()]
        return row
    if file_format == "csv":
        (row,) = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
        return {column: json.loads(row[column]) if row[column] else None for column in JSON_COLUMNS}
    (row,) = pq.read_table(io.BytesIO(data)).to_pylist()
    return {column: None if row[column] is None else json.loads(row[column]) for column in JSON_COLUMNS}


def json_numbers(value: Any) -> Any:
    """``value`` with every number as the decimal it denotes in JSON (1e16 and 10000000000000000 alike).

    PostgreSQL's JSONB keeps each number's decimal value exactly but prints large exponents in
    full, so a reader may get an int where a float was written: the same JSON number.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return Decimal(repr(value)).normalize()
    if isinstance(value, list):
        return [json_numbers(item) for item in value]
    return {key: json_numbers(item) for key, item in value.items()}


def read_sql(conn_id: str, table: str, activity_id: str) -> dict[str, Any]:
    connection = BaseHook.get_connection(conn_id)
    columns = ", ".join(sorted(JSON_COLUMNS))
    if connection.conn_type == "sqlite":
        with sqlite3.connect(connection.host) as db:
            row = db.execute(f"SELECT {columns} FROM {table} WHERE id = ?", (activity_id,)).fetchone()
        return {c: None if v is None else json.loads(v) for c, v in zip(sorted(JSON_COLUMNS), row, strict=True)}
    import psycopg2

    db = psycopg2.connect(host=connection.host, port=connection.port, user=connection.login, dbname=connection.schema)
    try:
        with db.cursor() as cursor:
            cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", (activity_id,))
            return dict(zip(sorted(JSON_COLUMNS), cursor.fetchone(), strict=True))  # JSONB: decoded by psycopg2
    finally:
        db.close()


@pytest.fixture(scope="module")
def sql_tables(postgres_server, tmp_path_factory) -> dict[str, tuple[str, str]]:
    """One SQLite and one PostgreSQL table for the module, created once."""
    import os

    pg = postgres_server
    folder = tmp_path_factory.mktemp("flatten-sql")
    os.environ["AIRFLOW_CONN_LEADACT_PROP_SQLITE"] = json.dumps({"conn_type": "sqlite", "host": str(folder / "p.db")})
    os.environ["AIRFLOW_CONN_LEADACT_PROP_PG"] = f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}"
    table = f"flatten_{uuid.uuid4().hex[:12]}"
    yield {"sqlite": ("leadact_prop_sqlite", table), "postgres": ("leadact_prop_pg", table)}
    for name in ("AIRFLOW_CONN_LEADACT_PROP_SQLITE", "AIRFLOW_CONN_LEADACT_PROP_PG"):
        os.environ.pop(name, None)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=data_shapes, fields=fields_shapes)
def test_any_content_survives_every_sink_without_loss(sql_tables, data, fields) -> None:
    activity_id = str(uuid.uuid4())
    record = flatten_activity(example_activity(Id=activity_id, Data=data, ActivityFields=fields), "lead")
    expected = {column: record[column] for column in JSON_COLUMNS}
    # Nothing dropped by flattening itself: every pair and every field is there.
    assert record["data"] == (dict(data) if isinstance(data, dict) else {p["Key"]: p["Value"] for p in data})
    assert set(record["activity_fields"]) == set(fields)

    for file_format in FORMATS:
        assert read_file(buffer_of(record, file_format), file_format) == (
            record if file_format == "jsonl" else expected
        ), file_format
    assert list(read_json_lines(io.BytesIO(buffer_of(record)))) == [record]
    for database, (conn_id, table) in sql_tables.items():
        SqlSink(conn_id, table=table).write([record])
        got = read_sql(conn_id, table, activity_id)
        if database == "postgres":
            assert json_numbers(got) == json_numbers(expected)
        else:
            assert got == expected, database
