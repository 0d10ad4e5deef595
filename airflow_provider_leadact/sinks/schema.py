"""Typed values of a flattened activity record, shared by the typed sinks (Parquet and SQL).

JSON Lines keeps each record exactly as :func:`~airflow_provider_leadact.records.flatten_activity`
returns it; Parquet and SQL need one type per column, declared once with the columns
(:data:`~airflow_provider_leadact.records.RECORD_COLUMNS`), so that a Parquet file and a SQL
table of the same activities agree. Values are converted to those types by
:func:`~airflow_provider_leadact.records.coerce`, the rule flattening already applied to
numbers and flags, so a JSON Lines record and a typed row hold the same values.

Times from the API are UTC wall-clock strings (``YYYY-MM-DD HH:MM:SS``); typed sinks store
them as timestamps without a time zone, to be read as UTC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.records import COLUMN_TYPES, coerce


def to_json_text(value: Any) -> str | None:
    """Encode a nested value as compact JSON text (None stays None); non-ASCII is kept as is."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
