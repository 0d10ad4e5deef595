"""The date-range endpoints: "Get Activities by Date Range" and "Get Activity Change History".

Pure functions of the data, the settings and the request, as in
:mod:`~airflow_provider_leadact.sandbox.api`. Both take UTC ``YYYY-MM-DD HH:MM:SS`` bounds,
both inclusive, and page by a 1-based ``PageIndex``. What the documentation leaves open about
the listing (``RecordCount``, the largest ``PageSize``, the timestamp it filters on, how much
of each activity it returns) follows the ``range_*`` settings of
:class:`~airflow_provider_leadact.sandbox.config.SandboxConfig`.

The ground truth of an interval, :func:`changed_between`, is half-open (``[from, to)``), as
an Airflow data interval is; the API's bounds are not, so a client asks up to ``to`` minus
one second.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

from airflow_provider_leadact.sandbox.api import (
    ApiError,
    index_paging,
    integer_field,
    invalid,
    object_field,
    parse_body,
    parse_time,
)
from airflow_provider_leadact.sandbox.config import SandboxConfig
from airflow_provider_leadact.sandbox.data import TIME_FORMAT, Dataset
from airflow_provider_leadact.sandbox.page_readings import index_page_of

RANGE_PATH = "/v2/ProspectActivity.svc/RetrieveRecentlyModified"
CHANGES_PATH = "/v2/ProspectActivity.svc/RetrieveActivityChange"
#: Rows of a listing page when the request sends no ``Paging.PageSize``.
DEFAULT_PAGE_SIZE = 25
#: Largest ``PageSize`` of "Get Activity Change History" (documented); more is refused.
MAX_CHANGES_PAGE_SIZE = 1000
#: Columns the listing sorts by.
SORT_COLUMNS: tuple[str, ...] = ("CreatedOn", "ModifiedOn")
#: The keys of a listing row under ``range_include_fields="partial"``.
SUMMARY_KEYS: tuple[str, ...] = ("Id", "EventCode", "EventName", "CreatedOn", "ModifiedOn", "RelatedProspectId")
# Custom fields of an activity type are named mx_...; IncludeCustomFields decides whether
# the listing shows them.
_CUSTOM_PREFIX = "mx_"


def matching_range(
    dataset: Dataset,
    lower: str,
    upper: str,
    *,
    filter_on: str,
    activity_event: int | None = None,
    sort_column: str = "CreatedOn",
    descending: bool = True,
) -> list[dict[str, Any]]:
    """Return the stored activities whose ``filter_on`` lies in ``[lower, upper]``, sorted.

    Ties of the sort column keep ascending ``Id`` order in both directions. The dicts are the
    data set's own: callers must not modify them.

    :param dataset: the data set.
    :param lower: first time included, ``YYYY-MM-DD HH:MM:SS``.
    :param upper: last time included.
    :param filter_on: ``"ModifiedOn"`` or ``"CreatedOn"``.
    :param activity_event: event code to keep, or ``None`` for all.
    :param sort_column: ``"CreatedOn"`` or ``"ModifiedOn"``.
    :param descending: newest first.
    """
    # The fixed-width format sorts like the time it stands for, so strings compare safely.
    rows = dataset.between(filter_on, lower, upper)
    if activity_event is not None:
        rows = [item for item in rows if item["EventCode"] == activity_event]
    if sort_column == filter_on and not descending:
        return list(rows)  # the index's own order: by the column, ties by Id
    rows = sorted(rows, key=lambda item: item["Id"])
    rows.sort(key=lambda item: item[sort_column], reverse=descending)
    return rows


def listing_row(
    activity: dict[str, Any], include_fields: str, custom_fields: bool, custom_fields_at: str = "activity_fields"
) -> dict[str, Any]:
    """Return an activity as the listing shows it.

    :param activity: the stored activity.
    :param include_fields: ``"full"`` or ``"partial"`` (see ``range_include_fields``).
    :param custom_fields: whether the request sent ``IncludeCustomFields``.
    :param custom_fields_at: where the custom fields go when sent (see ``range_custom_fields``).
    """
    if include_fields == "partial":
        return {key: activity[key] for key in SUMMARY_KEYS}
    fields = activity["ActivityFields"]
    if not isinstance(fields, dict):
        return activity
    if not custom_fields:
        kept = {key: value for key, value in fields.items() if not key.startswith(_CUSTOM_PREFIX)}
        return activity if len(kept) == len(fields) else {**activity, "ActivityFields": kept}
    if custom_fields_at == "top_level":
        others = {key: value for key, value in fields.items() if not key.startswith(_CUSTOM_PREFIX)}
        custom = {key: value for key, value in fields.items() if key.startswith(_CUSTOM_PREFIX)}
        return {**activity, "ActivityFields": others, **custom}
    if custom_fields_at == "fields_list":
        # In the place of ActivityFields, so the row's keys keep their order.
        pairs = [{"Key": key, "Value": value} for key, value in fields.items()]
        return {
            ("Fields" if key == "ActivityFields" else key): (pairs if key == "ActivityFields" else value)
            for key, value in activity.items()
        }
    return activity


def retrieve_recently_modified(
    dataset: Dataset, config: SandboxConfig, raw_body: bytes
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Answer ``POST /v2/ProspectActivity.svc/RetrieveRecentlyModified``.

    :param dataset: the data set.
    :param config: the listing's readings (``range_*`` settings).
    :param raw_body: the request body.
    :return: the answer, and the stored activities of its page (for the churn).
    :raises ApiError: 400 for missing or invalid dates, event, paging or sorting.
    """
    body = parse_body(raw_body)
    parameter = object_field(body, "Parameter")
    lower, upper = _bounds(parameter)
    event = integer_field(parameter.get("ActivityEvent"), "Parameter.ActivityEvent")
    custom_fields = _flag(parameter.get("IncludeCustomFields"), "Parameter.IncludeCustomFields")
    page_index, page_size = index_paging(body, DEFAULT_PAGE_SIZE)
    sorting = object_field(body, "Sorting")
    column = sorting.get("ColumnName") or "CreatedOn"
    if column not in SORT_COLUMNS:
        raise invalid(f"Sorting.ColumnName {column!r} is not one of {', '.join(SORT_COLUMNS)}")
    direction = sorting.get("Direction", 1)
    if str(direction) not in ("0", "1"):
        raise invalid(f"Sorting.Direction must be 0 (oldest first) or 1 (newest first), got {direction!r}")
    rows = matching_range(
        dataset,
        lower,
        upper,
        filter_on=config.range_filter_on,
        activity_event=event,
        sort_column=column,
        descending=str(direction) == "1",
    )
    if config.range_heavy_rows and len(rows) > config.range_heavy_rows:
        # A busy window times out in the database behind the API, whatever the page asked.
        raise ApiError(
            500,
            "MXDataAccessException",
            "Timeout expired. The timeout period elapsed prior to completion of the operation.",
        )
    count, page = index_page_of(
        rows,
        page_index,
        page_size,
        record_count=config.range_record_count,
        max_page_size=config.range_max_page_size,
    )
    shown = [listing_row(item, config.range_include_fields, custom_fields, config.range_custom_fields) for item in page]
    return {"RecordCount": count, "ProspectActivities": shown}, page


def matching_changes(
    dataset: Dataset,
    lower: str,
    upper: str,
    activity_events: Collection[int] | None = None,
    activity_id: str | None = None,
) -> list[dict[str, Any]]:
    """Return the change records made in ``[lower, upper]``, oldest first (ties by activity id).

    :param dataset: the data set.
    :param lower: first time included, ``YYYY-MM-DD HH:MM:SS``.
    :param upper: last time included.
    :param activity_events: event codes to keep, or ``None`` for all.
    :param activity_id: the one activity to keep, or ``None`` for all.
    """
    wanted = None if activity_id is None else activity_id.lower()
    rows = [
        item
        for item in dataset.changes
        if lower <= item["ModifiedOn"] <= upper
        and (activity_events is None or item["ActivityEvent"] in activity_events)
        and (wanted is None or item["ActivityId"] == wanted)
    ]
    rows.sort(key=lambda item: (item["ModifiedOn"], item["ActivityId"]))
    return rows


def change_entry(dataset: Dataset, change: dict[str, Any], shape: str) -> dict[str, Any]:
    """Return a stored change record as "Get Activity Change History" shows it.

    :param dataset: the data set (for the activity's type and score).
    :param change: a record of :attr:`Dataset.changes` (flat).
    :param shape: ``"documented"`` or ``"flat"`` (see ``changes_shape``).
    """
    if shape == "flat":
        return change
    activity = dataset.activity(change["ActivityId"]) or {}
    new_values = change.get("NewValue") or {}
    score = new_values.get("ActivityScore", activity.get("ActivityScore"))
    # As the documented example: the activity nested, its id ProspectActivityId, codes and
    # numbers as strings. Where the documentation's copy breaks off (the change's own time and
    # values), they sit beside it under the flat shape's names; clients must not rely on them.
    nested = {
        "ProspectActivityId": change["ActivityId"],
        "RelatedProspectId": change["RelatedProspectId"],
        "ActivityType": _text(activity.get("ActivityType")),
        "ActivityEvent": _text(change["ActivityEvent"]),
        "Score": _text(score),
        "CreatedOn": change["CreatedOn"],
    }
    return {
        "Activity": nested,
        "ModifiedOn": change["ModifiedOn"],
        "ModifiedByName": change["ModifiedByName"],
        "OldValue": change["OldValue"],
        "NewValue": change["NewValue"],
    }


def retrieve_activity_change(dataset: Dataset, config: SandboxConfig, raw_body: bytes) -> dict[str, Any]:
    """Answer ``POST /v2/ProspectActivity.svc/RetrieveActivityChange``.

    :param dataset: the data set.
    :param config: the entries' shape (``changes_shape``).
    :param raw_body: the request body.
    :raises ApiError: 400 for missing or invalid dates, events, activity id or paging, for
        both ``ActivityEvents`` and ``ActivityID``, and for a ``PageSize`` above 1000.
    """
    body = parse_body(raw_body)
    parameter = object_field(body, "Parameter")
    lower, upper = _bounds(parameter)
    events_sent = parameter.get("ActivityEvents")
    activity_id = parameter.get("ActivityID")
    if events_sent not in (None, []) and activity_id not in (None, ""):
        raise invalid("Pass either Parameter.ActivityEvents or Parameter.ActivityID, not both")
    events = None
    if events_sent not in (None, []):
        if not isinstance(events_sent, list):
            raise invalid("Parameter.ActivityEvents must be a list of event codes")
        codes = (integer_field(item, "Parameter.ActivityEvents") for item in events_sent)
        events = {code for code in codes if code is not None}
    if activity_id not in (None, "") and not isinstance(activity_id, str):
        raise invalid("Parameter.ActivityID must be an activity GUID string")
    page_index, page_size = index_paging(body, DEFAULT_PAGE_SIZE)
    if page_size > MAX_CHANGES_PAGE_SIZE:
        raise invalid(f"Paging.PageSize must be at most {MAX_CHANGES_PAGE_SIZE}, got {page_size}")
    rows = matching_changes(dataset, lower, upper, events, activity_id or None)
    count, page = index_page_of(rows, page_index, page_size)
    return {"RecordCount": count, "Activities": [change_entry(dataset, item, config.changes_shape) for item in page]}


def changed_between(dataset: Dataset, from_time: datetime, to_time: datetime) -> list[dict[str, Any]]:
    """Return deep copies of the activities whose ``ModifiedOn`` lies in ``[from_time, to_time)``.

    Sorted by ``Id``: the ground truth of a data interval.

    :param dataset: the data set.
    :param from_time: first time included (naive UTC).
    :param to_time: first time excluded (naive UTC).
    """
    return copy.deepcopy(_changed_between(dataset, from_time, to_time))


def changed_digest(dataset: Dataset, from_time: datetime, to_time: datetime) -> dict[str, Any]:
    """:func:`digest_of` the activities whose ``ModifiedOn`` lies in ``[from_time, to_time)``, without copying them."""
    return digest_of(_changed_between(dataset, from_time, to_time))


def _changed_between(dataset: Dataset, from_time: datetime, to_time: datetime) -> list[dict[str, Any]]:
    lower, upper = from_time.strftime(TIME_FORMAT), to_time.strftime(TIME_FORMAT)
    rows = [item for item in dataset.between("ModifiedOn", lower, upper) if item["ModifiedOn"] < upper]
    rows.sort(key=lambda item: item["Id"])
    return rows


def digest_of(activities: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Summarise activities: how many, of how many leads, and a digest of ids and versions.

    The digest is the sum, modulo 2**256, of the SHA-256 of each ``Id|ModifiedOn|ActivityScore``
    line (lower-cased): independent of order, so it can be computed while streaming, and two
    sets of activities in the same versions, each once, have the same digest.

    :param activities: activities in the API's shape.
    """
    digest = DigestBuilder()
    for activity in activities:
        digest.add(activity)
    return digest.summary()


class DigestBuilder:
    """:func:`digest_of`, one activity at a time (memory: the set of lead ids only)."""

    def __init__(self) -> None:
        self.count, self.total, self.leads = 0, 0, set[str]()

    def add(self, activity: Mapping[str, Any]) -> None:
        """Count one activity."""
        import hashlib

        line = f"{activity['Id']}|{activity['ModifiedOn']}|{activity['ActivityScore']}".lower()
        self.total = (self.total + int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")) % (1 << 256)
        self.count += 1
        self.leads.add(str(activity["RelatedProspectId"]).lower())

    def summary(self) -> dict[str, Any]:
        """``{"activities", "leads", "digest"}``."""
        return {"activities": self.count, "leads": len(self.leads), "digest": f"{self.total:064x}"}


def history_days(dataset: Dataset) -> list[str]:
    """Return the UTC days (``YYYY-MM-DD``) on which some activity was last changed, in order.

    :param dataset: the data set.
    """
    return sorted({item["ModifiedOn"][:10] for item in dataset.activities()})


def _bounds(parameter: Mapping[str, Any]) -> tuple[str, str]:
    lower = parse_time(parameter.get("FromDate"), "Parameter.FromDate")
    upper = parse_time(parameter.get("ToDate"), "Parameter.ToDate")
    return lower.strftime(TIME_FORMAT), upper.strftime(TIME_FORMAT)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flag(value: Any, name: str) -> bool:
    # Public clients send 1; JSON true and the strings "1"/"true" mean the same.
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise invalid(f"{name} must be 0 or 1, got {value!r}")
