"""A sink's table read back with the database's own driver, in the shape of flattened records."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from airflow.sdk import BaseHook

from airflow_provider_leadact.records import COLUMNS, JSON_COLUMNS


def fetch_rows(conn_id: str, table: str) -> list[dict[str, Any]]:
    """Every row of the table, read with the database's own driver (not the sink's code)."""
    connection = BaseHook.get_connection(conn_id)
    if connection.conn_type == "sqlite":
        db = sqlite3.connect(connection.host)
        try:
            cursor = db.execute(f"SELECT {', '.join(COLUMNS)} FROM {table}")
            return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        finally:
            db.close()
    import psycopg2

    db = psycopg2.connect(host=connection.host, port=connection.port, user=connection.login, dbname=connection.schema)
    try:
        with db.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {table}")
            return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
    finally:
        db.close()


def as_records(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Rows back in the shape of flattened records: JSON decoded, times as API text, 0/1 as bools."""
    records = {}
    for row in rows:
        record = dict(row)
        for column in JSON_COLUMNS:
            if isinstance(record[column], str):
                record[column] = json.loads(record[column])
        for column in ("created_on", "modified_on"):
            if isinstance(record[column], datetime):
                record[column] = record[column].strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(record["is_email_type"], int) and not isinstance(record["is_email_type"], bool):
            record["is_email_type"] = bool(record["is_email_type"])
        records[record["id"]] = record
    assert len(records) == len(rows), "an activity has more than one row"
    return records


def strictly_equal(actual: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    """Equal, and of the same types (so 1 and True, or 0 and 0.0 in a text column, differ)."""
    assert actual == expected
    for key, record in expected.items():
        for column, value in record.items():
            got = actual[key][column]
            if value is not None and not isinstance(value, (dict, list)) and column not in ("latitude", "longitude"):
                assert type(got) is type(value), (key, column, got, value)
