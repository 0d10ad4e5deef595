"""The record shape every sink writes: one flat dict per activity.

The API returns activities with fields that vary by activity type packed into ``Data``
(a list of ``{"Key": ..., "Value": ...}`` pairs, or sometimes a plain object) and
``ActivityFields`` (a dict whose values may themselves be JSON encoded, and whose
``ActivityEvent_Note`` packs call details as ``Key{=}Value{next}Key{=}Value``). Flattening
happens once, here, so that object storage and SQL hold the same records.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


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

    ``data`` is ``Data`` as an object; ``activity_fields`` is ``ActivityFields`` with JSON-encoded
    string values decoded; ``note`` is ``ActivityEvent_Note`` parsed (the raw note stays in
    ``activity_fields``); ``extra`` keeps any top-level field this version does not know, so an
    API addition is never silently dropped.

    :param activity: one item of ``ProspectActivities``.
    :param lead_id: the lead the activity was fetched for.
    """
    record: dict[str, Any] = dict.fromkeys(COLUMNS)
    extra: dict[str, Any] = {}
    for key, value in activity.items():
        column = API_FIELDS.get(key)
        if column is not None:
            record[column] = value
        elif key not in ("Data", "ActivityFields"):
            extra[snake_case(key)] = value
    record["lead_id"] = lead_id
    record["data"] = data_to_dict(activity.get("Data"))
    raw_fields = activity.get("ActivityFields")
    if isinstance(raw_fields, Mapping):
        fields = {str(k): decode_json_string(v) for k, v in raw_fields.items()}
    elif raw_fields is None:
        fields = {}
    else:
        fields = {"_value": raw_fields}
    record["activity_fields"] = fields
    record["note"] = parse_note(fields.get(NOTE_FIELD))
    record["extra"] = extra
    if record["id"] is None:
        raise ValueError(f"activity of lead {lead_id} has no Id: {sorted(activity)[:20]}")
    return record
