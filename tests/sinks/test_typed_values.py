"""Numbers the API sends as strings are written as the numbers their columns declare, by every writer.

One activity, the documented example with its numbers and flags sent as strings, is written
as JSON Lines, CSV and Parquet and loaded from each file into SQL, and written to SQL
directly: every path holds the integers, floats and booleans the columns declare, and the
same values as the activity sent as documented.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from airflow_provider_leadact.operators.load import LeadSquaredActivityFilesToSqlOperator
from airflow_provider_leadact.records import flatten_activity
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink
from airflow_provider_leadact.sinks.sql import SqlSink
from tests.support.examples import DOCUMENTED_ACTIVITY, LEAD, numbers_as_strings
from tests.support.sql import as_records, fetch_rows, strictly_equal

FORMATS = ("jsonl", "csv", "parquet")
TYPED = {"event_code": 164, "activity_score": 0, "activity_type": 2, "track_location": 0}


@pytest.fixture
def record() -> dict:
    sent = flatten_activity(numbers_as_strings(DOCUMENTED_ACTIVITY), LEAD)
    assert json.dumps(sent, sort_keys=True) == json.dumps(flatten_activity(DOCUMENTED_ACTIVITY, LEAD), sort_keys=True)
    return sent


def test_files_hold_the_declared_types(tmp_path: Path, record: dict) -> None:
    written = {}
    for fmt in FORMATS:
        path = tmp_path / f"part.{fmt}"
        ObjectStorageSink(f"file://{path}", file_format=fmt).write([record])
        written[fmt] = path.read_bytes()
    line = json.loads(written["jsonl"])
    assert {k: line[k] for k in TYPED} == TYPED and line["latitude"] == 0.0 and line["is_email_type"] is False
    assert all(type(line[k]) is int for k in TYPED)
    # CSV is text: numbers as their digits, never quoted strings of the source.
    header, row = written["csv"].decode().splitlines()[:2]
    assert dict(zip(header.split(","), row.split(","), strict=False))["event_code"] == "164"
    table = pq.read_table(io.BytesIO(written["parquet"]))
    assert str(table.schema.field("event_code").type) == "int64"
    assert {k: table.column(k)[0].as_py() for k in TYPED} == TYPED


@pytest.mark.parametrize("conn", ["sqlite", "postgres"])
def test_sql_direct_and_loaded_from_every_format_agree(
    request: pytest.FixtureRequest, tmp_path: Path, record: dict, table_name: str, conn: str
) -> None:
    conn_id = request.getfixturevalue(f"{conn}_conn_id")
    SqlSink(conn_id, table=f"{table_name}_direct").write([record])
    tables = {"direct": f"{table_name}_direct"}
    for fmt in FORMATS:
        url = f"file://{tmp_path}/part.{fmt}"
        ObjectStorageSink(url, file_format=fmt).write([record])
        tables[fmt] = f"{table_name}_{fmt}"
        LeadSquaredActivityFilesToSqlOperator(task_id="load", paths=[url], conn_id=conn_id, table=tables[fmt]).execute(
            {}
        )
    rows = {name: as_records(fetch_rows(conn_id, table)) for name, table in tables.items()}
    direct = rows["direct"][record["id"]]
    assert {k: direct[k] for k in TYPED} == TYPED and all(type(direct[k]) is int for k in TYPED)
    for name in FORMATS:
        # CSV cannot tell an empty text from None; this record has no empty text column.
        strictly_equal(rows[name], rows["direct"])
