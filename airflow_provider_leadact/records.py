"""The record shape every sink writes: one flat dict per activity.

The API returns activities with fields that vary by activity type packed into ``Data``
(a list of ``{"Key": ..., "Value": ...}`` pairs, or sometimes a plain object) and
``ActivityFields`` (a dict whose values may themselves be JSON encoded, and whose
``ActivityEvent_Note`` packs call details as ``Key{=}Value{next}Key{=}Value``). The
date-range listing may carry the custom fields as top-level ``mx_...`` keys of the row or
as a ``Fields`` list of pairs instead, and numbers as strings. Flattening happens once, here,
so that an activity gives the same record whichever endpoint and shape it came in, and object
storage and SQL hold the same records.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.times import read_api_time


class ColumnType(str, enum.Enum):
    """The logical type of one record column; each typed sink maps it to its own type."""

    TEXT = "text"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    JSON = "json"


@dataclass(frozen=True)
class Column:
    """One column of a flattened record.

    :param name: the column's name (snake_case).
    :param type: its logical type (Parquet and SQL types derive from it).
    :param api_field: the top-level API field it is copied from; None for the columns built
        by flattening (``lead_id``, ``data``, ``activity_fields``, ``note``, ``extra``).
    """

    name: str
    type: ColumnType
    api_field: str | None = None


_T = ColumnType
#: Every column of a flattened record, in output order: the one declaration the record
#: shape, the CSV header, the Parquet schema and the SQL table are derived from. Times are
#: the API's UTC wall-clock times; nested values (``JSON``) are dicts.
RECORD_COLUMNS: tuple[Column, ...] = (
    Column("id", _T.TEXT, "Id"),
    Column("lead_id", _T.TEXT),
    Column("related_prospect_id", _T.TEXT, "RelatedProspectId"),
    Column("event_code", _T.INTEGER, "EventCode"),
    Column("event_name", _T.TEXT, "EventName"),
    Column("activity_score", _T.INTEGER, "ActivityScore"),
    Column("created_on", _T.TIMESTAMP, "CreatedOn"),
    Column("modified_on", _T.TIMESTAMP, "ModifiedOn"),
    Column("activity_type", _T.INTEGER, "ActivityType"),
    Column("is_email_type", _T.BOOLEAN, "IsEmailType"),
    Column("type", _T.TEXT, "Type"),
    Column("session_id", _T.TEXT, "SessionId"),
    Column("track_location", _T.INTEGER, "TrackLocation"),
    Column("latitude", _T.FLOAT, "Latitude"),
    Column("longitude", _T.FLOAT, "Longitude"),
    Column("data", _T.JSON),
    Column("activity_fields", _T.JSON),
    Column("note", _T.JSON),
    Column("extra", _T.JSON),
)

#: Top-level API fields and the column each becomes (derived from :data:`RECORD_COLUMNS`).
API_FIELDS: dict[str, str] = {c.api_field: c.name for c in RECORD_COLUMNS if c.api_field}
#: Every column's name, in order.
COLUMNS: tuple[str, ...] = tuple(c.name for c in RECORD_COLUMNS)
#: Logical type of every column, in order.
COLUMN_TYPES: dict[str, ColumnType] = {c.name: c.type for c in RECORD_COLUMNS}
#: Columns holding nested values (dicts), written as JSON text by flat sinks.
JSON_COLUMNS: frozenset[str] = frozenset(c.name for c in RECORD_COLUMNS if c.type is ColumnType.JSON)

#: Columns whose API values are read as their declared type when flattening (numbers and
#: flags may arrive as strings); times stay the API's text in the record.
SCALAR_COLUMNS: dict[str, ColumnType] = {
    c.api_field: c.type
    for c in RECORD_COLUMNS
    if c.api_field and c.type in (ColumnType.INTEGER, ColumnType.FLOAT, ColumnType.BOOLEAN)
}

#: Where the per-lead call puts an activity's own fields (a dict).
ACTIVITY_FIELDS = "ActivityFields"
#: Where the date-range listing may put them instead: a list of ``{"Key", "Value"}`` pairs.
FIELDS_LIST = "Fields"
#: The prefix of custom field names (``mx_Custom_1``...); the listing may send them as
#: top-level keys of the row.
CUSTOM_FIELD_PREFIX = "mx_"
NOTE_FIELD = "ActivityEvent_Note"
_NOTE_PAIR_SEP = "{next}"
_NOTE_KV_SEP = "{=}"
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """Turn ``RelatedProspectId`` into ``related_prospect_id``."""
    return _CAMEL_BOUNDARY.sub("_", name).replace("-", "_").replace(" ", "_").lower()


def data_to_dict(data: Any) -> dict[str, Any]:
    """Turn the ``Data`` field into a dict, whether it came as Key/Value pairs or an object.

    A pair without a ``Key`` is kept under ``_<index>`` so nothing is dropped.
    """
    if data is None:
        return {}
    if isinstance(data, Mapping):
        return dict(data)
    if isinstance(data, list):
        out: dict[str, Any] = {}
        for index, item in enumerate(data):
            if isinstance(item, Mapping) and "Key" in item:
                out[str(item["Key"])] = item.get("Value")
            else:
                out[f"_{index}"] = item
        return out
    return {"_value": data}


def decode_json_string(value: Any) -> Any:
    """Decode a string that holds a JSON object or array; leave every other value as it is.

    Only objects and arrays are decoded: a string such as ``"123"`` or ``"true"`` is data, not
    an encoded value, and turning it into a number would change it.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                decoded = json.loads(text)
            except ValueError:
                return value
            if isinstance(decoded, (dict, list)):
                return decoded
    return value


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def coerce(value: Any, column_type: ColumnType) -> Any:
    """Convert one value into the Python type of its column.

    The one rule every writer follows: :func:`flatten_activity` applies it to numbers and
    flags (which the API sends as strings in places), the typed sinks to every column. An
    empty string in a non-text column becomes None: the API sends ``""`` for "no value" in
    places, and a typed column has no other way to say so. Nested values are left as they
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
        return read_api_time(value)
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


def has_activity_fields(row: Mapping[str, Any]) -> bool:
    """Whether a row carries the activity's own fields, in any of the shapes :func:`activity_fields_of` reads."""
    return (
        ACTIVITY_FIELDS in row
        or FIELDS_LIST in row
        or any(isinstance(key, str) and key.startswith(CUSTOM_FIELD_PREFIX) for key in row)
    )


def activity_fields_of(activity: Mapping[str, Any]) -> dict[str, Any]:
    """The activity's own fields, whichever shape they came in, JSON-encoded values decoded.

    ``ActivityFields`` (a dict, the per-lead call's shape), a ``Fields`` list of
    ``{"Key", "Value"}`` pairs, and top-level ``mx_...`` keys are merged. Should one field
    come in two shapes, ``ActivityFields`` wins, then ``Fields``: the per-lead call's shape is
    the documented one.
    """
    merged: dict[str, Any] = {}
    raw = activity.get(ACTIVITY_FIELDS)
    if isinstance(raw, Mapping):
        merged.update((str(key), value) for key, value in raw.items())
    elif raw is not None:
        merged["_value"] = raw
    if FIELDS_LIST in activity:
        for key, value in data_to_dict(activity[FIELDS_LIST]).items():
            merged.setdefault(key, value)
    for key, value in activity.items():
        if isinstance(key, str) and key.startswith(CUSTOM_FIELD_PREFIX):
            merged.setdefault(key, value)
    return {key: decode_json_string(value) for key, value in merged.items()}


def parse_note(note: Any) -> dict[str, str] | None:
    """Parse ``Key{=}Value{next}Key{=}Value`` into a dict; None when there is no such note.

    A segment without ``{=}`` is kept under ``_<index>``.
    """
    if not isinstance(note, str) or _NOTE_KV_SEP not in note:
        return None
    parsed: dict[str, str] = {}
    for index, segment in enumerate(note.split(_NOTE_PAIR_SEP)):
        if not segment:
            continue
        key, sep, value = segment.partition(_NOTE_KV_SEP)
        parsed[key if sep else f"_{index}"] = value if sep else segment
    return parsed


def flatten_activity(activity: Mapping[str, Any], lead_id: str) -> dict[str, Any]:
    """Flatten one activity in the API's shape into a record with the :data:`COLUMNS`.

    ``data`` is ``Data`` as an object; ``activity_fields`` is the activity's own fields from
    ``ActivityFields``, a ``Fields`` list and top-level ``mx_...`` keys, merged, with
    JSON-encoded string values decoded (see :func:`activity_fields_of`); ``note`` is
    ``ActivityEvent_Note`` parsed (the raw note stays in ``activity_fields``); numbers and
    flags are of their column's type even when sent as strings (``"322"`` becomes 322);
    ``extra`` keeps any other top-level field this version does not know, so an API addition
    is never silently dropped. The same activity gives the same record whichever shape it
    came in.

    :param activity: one item of ``ProspectActivities``.
    :param lead_id: the lead the activity was fetched for.
    :raises ValueError: when the activity has no ``Id``.
    :raises LeadSquaredError: naming the activity, its lead and the field, for a number or
        flag that is not one (every format would refuse it alike).
    """
    record: dict[str, Any] = dict.fromkeys(COLUMNS)
    extra: dict[str, Any] = {}
    for key, value in activity.items():
        column = API_FIELDS.get(key)
        if column is not None:
            record[column] = value
        elif key not in ("Data", ACTIVITY_FIELDS, FIELDS_LIST) and not (
            isinstance(key, str) and key.startswith(CUSTOM_FIELD_PREFIX)
        ):
            extra[snake_case(key)] = value
    if record["id"] is None:
        raise ValueError(f"activity of lead {lead_id} has no Id: {sorted(activity)[:20]}")
    for api_field, column_type in SCALAR_COLUMNS.items():
        column = API_FIELDS[api_field]
        try:
            record[column] = coerce(record[column], column_type)
        except (TypeError, ValueError) as err:
            raise LeadSquaredError(
                f"activity {record['id']} of lead {lead_id}: {api_field} {record[column]!r} is not "
                f"{'a' if column_type is not ColumnType.INTEGER else 'an'} {column_type.value}: {err}"
            ) from err
    record["lead_id"] = lead_id
    record["data"] = data_to_dict(activity.get("Data"))
    fields = activity_fields_of(activity)
    record["activity_fields"] = fields
    record["note"] = parse_note(fields.get(NOTE_FIELD))
    record["extra"] = extra
    return record
