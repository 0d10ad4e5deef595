"""The account's activity types: what an event code and its ``mx_Custom_n`` fields mean.

An activity says only ``EventCode`` 201 and ``mx_Custom_3``; the account's catalogue says
"Follow Up Scheduled" and "Follow-up Notes". This module reads that catalogue through its two
endpoints (one call to ``ActivityTypes.Get``, then one ``GetActivitySetting`` per custom type),
checks each answer once and turns it into plain typed dicts, and declares the columns of the
two tables the catalogue is stored in (:data:`TYPE_COLUMNS`, :data:`FIELD_COLUMNS`), as
:data:`~airflow_provider_leadact.records.RECORD_COLUMNS` declares the activities table's.

The catalogue's own shape is documented only in part: the event code, name and category are
read under the names LeadSquared uses elsewhere, and whatever else a type carries is kept in
``details``. A malformed answer is an API error naming the endpoint. An event code the
catalogue lists but whose settings LeadSquared no longer has (types are deleted, codes come
and go) is not an error: the type is kept without fields and the task log says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from airflow_provider_leadact.answers import RATE_LIMIT_EXCEPTION
from airflow_provider_leadact.client import TaskLog
from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.records import Column, ColumnType, decode_json_string

TYPES_PATH = "/v2/ProspectActivity.svc/ActivityTypes.Get"
SETTING_PATH = "/v2/ProspectActivity.svc/CustomActivity/GetActivitySetting"
TYPES_ENDPOINT = f"ActivityTypes.Get (GET {TYPES_PATH})"

#: Where a catalogue entry's event code may be, first found wins: ``ActivityEvent`` as the
#: activity APIs name the code in requests, ``EventCode`` as activities carry it.
CODE_KEYS: tuple[str, ...] = ("ActivityEvent", "EventCode", "Code")
#: Where its name may be: the display name before the internal one.
NAME_KEYS: tuple[str, ...] = ("DisplayName", "Name", "ActivityEventName", "EventName")
#: LeadSquared numbers its own (system) activity types below this; the account's start here.
FIRST_CUSTOM_CODE = 100

_T = ColumnType
#: Columns of the activity types table, one row per event code: the one declaration its
#: SQL is derived from. ``details`` keeps what else the catalogue says of the type (score,
#: direction, ...); ``refreshed_at`` is when the catalogue was read (UTC).
TYPE_COLUMNS: tuple[Column, ...] = (
    Column("event_code", _T.INTEGER),
    Column("event_name", _T.TEXT),
    Column("category", _T.TEXT),
    Column("is_custom", _T.BOOLEAN),
    Column("details", _T.JSON),
    Column("refreshed_at", _T.TIMESTAMP),
)
#: Columns of the custom fields table, one row per ``(event_code, schema_name)``.
#: ``option_set`` is a dropdown's options as the API gave them (JSON), None for other fields.
FIELD_COLUMNS: tuple[Column, ...] = (
    Column("event_code", _T.INTEGER),
    Column("schema_name", _T.TEXT),
    Column("display_name", _T.TEXT),
    Column("data_type", _T.TEXT),
    Column("is_mandatory", _T.BOOLEAN),
    Column("option_set", _T.JSON),
    Column("refreshed_at", _T.TIMESTAMP),
)
#: The key of each table.
TYPE_KEY: tuple[str, ...] = ("event_code",)
FIELD_KEY: tuple[str, ...] = ("event_code", "schema_name")

#: One activity type as :func:`read_activity_types` returns it.
ActivityType = dict[str, Any]

log = logging.getLogger(__name__)


def read_activity_types(
    catalogue: Callable[[], list[ActivityType]],
    fields_of: Callable[[int], list[dict[str, Any]]],
    logger: TaskLog | None = None,
) -> list[ActivityType]:
    """Read the account's activity types, each with its custom fields.

    One call to ``ActivityTypes.Get``, then one ``GetActivitySetting`` per custom type (the
    two endpoints of :class:`~airflow_provider_leadact.endpoints.LeadSquaredApi`, passed in).

    :param catalogue: the types, their fields empty (``LeadSquaredApi.activity_types``).
    :param fields_of: one type's custom fields (``LeadSquaredApi.activity_fields``).
    :param logger: where an event code without settings is reported (the task's logger).
    :return: per type, in the catalogue's order: ``event_code`` (int), ``event_name``,
        ``category``, ``is_custom`` (bool), ``details`` (the rest of the catalogue entry) and
        ``fields``: per custom field ``schema_name``, ``display_name``, ``data_type``,
        ``is_mandatory``, ``option_set`` (system types, and codes without settings: ``[]``).
    :raises LeadSquaredApiError: an answer that is not what the endpoint returns, naming it.
    """
    logger = logger or log
    types = catalogue()
    for activity_type in types:
        if activity_type["is_custom"]:
            activity_type["fields"] = _custom_fields(fields_of, activity_type["event_code"], logger)
    return types


def _custom_fields(
    fields_of: Callable[[int], list[dict[str, Any]]], code: int, logger: TaskLog
) -> list[dict[str, Any]]:
    try:
        return fields_of(code)
    except LeadSquaredApiError as exc:
        if exc.exception_type == RATE_LIMIT_EXCEPTION or exc.status_code is None:
            raise  # the account's rate limit, or an answer that is not a setting (no status: not answered as an error)
        # The catalogue and the settings are two calls: a type deleted in between, or one the
        # settings endpoint does not describe, leaves its activities readable by code alone.
        logger.warning(
            "Activity type %d is in the catalogue, but %s answered an error (%s): it is kept without fields",
            code,
            setting_endpoint(code),
            exc,
        )
        return []


def setting_endpoint(code: int) -> str:
    """How messages name the settings call of one event code."""
    return f"GetActivitySetting (GET {SETTING_PATH}?code={code})"


def parse_catalogue(payload: Any) -> list[ActivityType]:
    """Check an ``ActivityTypes.Get`` answer and turn it into activity types (``fields`` empty).

    An event code listed twice is kept once, as first listed.

    :raises LeadSquaredApiError: naming the endpoint, when the answer is not a list of types
        each with an integer event code.
    """
    if not isinstance(payload, list):
        raise LeadSquaredApiError(
            f"{TYPES_ENDPOINT} answered {_describe(payload)}, not a list of activity types; "
            "check that the connection's host is a LeadSquared API host"
        )
    types: dict[int, ActivityType] = {}
    for position, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise LeadSquaredApiError(f"{TYPES_ENDPOINT}: entry {position} is {_describe(item)}, not an activity type")
        code_key, code = _first(item, CODE_KEYS)
        event_code = _as_code(code)
        if event_code is None:
            raise LeadSquaredApiError(
                f"{TYPES_ENDPOINT}: entry {position} has no integer event code under "
                f"{' or '.join(CODE_KEYS)} (its keys: {', '.join(sorted(map(str, item))[:20])})"
            )
        name_key, name = _first(item, NAME_KEYS)
        category = item.get("Category")
        details = {str(k): v for k, v in item.items() if k not in (code_key, name_key, "Category")}
        types.setdefault(
            event_code,
            {
                "event_code": event_code,
                "event_name": None if name is None else str(name),
                "category": None if category is None else str(category),
                "is_custom": _is_custom(event_code, category, item.get("IsCustom")),
                "details": details,
                "fields": [],
            },
        )
    return list(types.values())


def parse_setting(payload: Any, code: int) -> list[dict[str, Any]]:
    """Check a ``GetActivitySetting`` answer and return its custom fields.

    :raises LeadSquaredApiError: naming the endpoint, when ``Fields`` is not a list of fields
        each with a ``SchemaName``.
    """
    endpoint = setting_endpoint(code)
    listed = payload.get("Fields") if isinstance(payload, Mapping) else None
    if listed is None and isinstance(payload, Mapping):
        return []  # a type without custom fields
    if not isinstance(listed, list):
        raise LeadSquaredApiError(f"{endpoint} answered {_describe(payload)}: Fields is not a list of fields")
    fields: dict[str, dict[str, Any]] = {}
    for position, item in enumerate(listed):
        schema_name = item.get("SchemaName") if isinstance(item, Mapping) else None
        if not isinstance(schema_name, str) or not schema_name.strip():
            raise LeadSquaredApiError(f"{endpoint}: field {position} has no SchemaName ({_describe(item)})")
        data_type = item.get("DataType")
        display_name = item.get("DisplayName")
        fields.setdefault(
            schema_name,
            {
                "schema_name": schema_name,
                "display_name": None if display_name is None else str(display_name),
                "data_type": None if data_type is None else str(data_type),
                "is_mandatory": _as_bool(item.get("IsMandatory")),
                "option_set": _option_set(item.get("OptionSet")),
            },
        )
    return list(fields.values())


def type_rows(types: list[ActivityType], refreshed_at: datetime) -> list[dict[str, Any]]:
    """One row per type, with the :data:`TYPE_COLUMNS`."""
    return [
        {column.name: refreshed_at if column.name == "refreshed_at" else item[column.name] for column in TYPE_COLUMNS}
        for item in types
    ]


def field_rows(types: list[ActivityType], refreshed_at: datetime) -> list[dict[str, Any]]:
    """One row per custom field of every type, with the :data:`FIELD_COLUMNS`."""
    return [
        {"event_code": item["event_code"], **field, "refreshed_at": refreshed_at}
        for item in types
        for field in item["fields"]
    ]


def _first(item: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if item.get(key) not in (None, ""):
            return key, item[key]
    return None, None


def _as_code(value: Any) -> int | None:
    # Codes come as numbers, and as digits in text from the endpoints that send numbers as strings.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _is_custom(code: int, category: Any, is_custom: Any) -> bool:
    if isinstance(is_custom, bool):
        return is_custom
    if isinstance(category, str) and category.strip().lower() in ("custom", "system"):
        return category.strip().lower() == "custom"
    return code >= FIRST_CUSTOM_CODE


def _option_set(value: Any) -> Any:
    # The documentation shows "" for a field without options; options have come as a list and
    # as that list JSON-encoded in a string.
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return decode_json_string(value)


_JSON_KINDS = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}


def _describe(value: Any) -> str:
    # Keys and kinds only: a value the server sent back could hold anything, a key included.
    if isinstance(value, Mapping):
        return f"a JSON object (keys: {', '.join(sorted(map(str, value))[:20]) or 'none'})"
    if value is None:
        return "null"
    return f"a JSON {_JSON_KINDS.get(type(value), type(value).__name__)}"
