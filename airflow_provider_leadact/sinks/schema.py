"""Typed values of a flattened activity record, shared by the typed sinks (Parquet and SQL).

JSON Lines keeps each record exactly as :func:`~airflow_provider_leadact.records.flatten_activity`
returns it; Parquet and SQL need one type per column, declared once with the columns
(:data:`~airflow_provider_leadact.records.RECORD_COLUMNS`), so that a Parquet file and a SQL
table of the same activities agree. Here values are converted to those types.

Times from the API are UTC wall-clock strings (``YYYY-MM-DD HH:MM:SS``); typed sinks store
them as timestamps without a time zone, to be read as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.records import COLUMN_TYPES, ColumnType

__all__ = ["COLUMN_TYPES", "ColumnType", "coerce", "parse_time", "to_json_text", "typed_row"]


#: Formats the API uses for times; the first is the documented one.
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def to_json_text(value: Any) -> str | None:
    """Encode a nested value as compact JSON text (None stays None); non-ASCII is kept as is."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_time(value: str) -> datetime:
    """Parse an API time string into a naive (UTC) datetime.

    :raises ValueError: when the string matches none of the known formats.
    """
    text = value.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"{value!r} is not a time in the form YYYY-MM-DD HH:MM:SS")


def coerce(value: Any, column_type: ColumnType) -> Any:
    """Convert one record value into the Python type of its column.

    An empty string in a non-text column becomes None: the API sends ``""`` for "no value"
    in places, and a typed column has no other way to say so. Nested values are left as they
    are (each sink encodes them its own way).

    :raises ValueError: when the value cannot be read as the column's type.
    """
    if value is None or column_type in (ColumnType.TEXT, ColumnType.JSON):
        if column_type is ColumnType.TEXT and value is not None and not isinstance(value, str):
            return str(value)
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        if column_type is ColumnType.INTEGER:
            return int(value)
        if column_type is ColumnType.FLOAT:
            return float(value)
        if column_type is ColumnType.BOOLEAN:
            lowered = value.strip().lower()
            if lowered in _TRUE or lowered in _FALSE:
                return lowered in _TRUE
            raise ValueError(f"{value!r} is not a boolean")
        return parse_time(value)
    if column_type is ColumnType.INTEGER:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if column_type is ColumnType.FLOAT:
        return float(value)
    if column_type is ColumnType.BOOLEAN:
        return bool(value)
    if isinstance(value, datetime):
        return value
    raise ValueError(f"{value!r} is not a time")


def typed_row(record: Mapping[str, Any]) -> list[Any]:
    """Return the record's values in column order, each coerced to its column's type.

    :raises LeadSquaredError: naming the activity, its lead and the column, when a value does
        not fit its column.
    """
    row = []
    for column, column_type in COLUMN_TYPES.items():
        try:
            row.append(coerce(record.get(column), column_type))
        except (TypeError, ValueError) as err:
            raise LeadSquaredError(
                f"activity {record.get('id')} of lead {record.get('lead_id')}: "
                f"column {column} ({column_type.value}): {err}"
            ) from err
    return row
