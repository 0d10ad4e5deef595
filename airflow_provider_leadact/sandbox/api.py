"""The emulated per-lead, lead and user endpoints, as pure functions of the data and the request.

HTTP plumbing lives in :mod:`~airflow_provider_leadact.sandbox.server`, authentication, the
rate limit and faults in :mod:`~airflow_provider_leadact.sandbox.state`, the date-range
endpoints in :mod:`~airflow_provider_leadact.sandbox.date_range`; this module validates
request bodies the way the real service does (400 with an ``MX...Exception`` body), builds
answers, and holds the request parsing the date-range endpoints share.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from airflow_provider_leadact.sandbox.config import SandboxConfig
from airflow_provider_leadact.sandbox.data import TIME_FORMAT, Dataset, Lead, with_file_urls
from airflow_provider_leadact.sandbox.page_readings import page_of

ACTIVITIES_PATH = "/v2/ProspectActivity.svc/Retrieve"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
LEADS_PATH = "/v2/LeadManagement.svc/Leads.RecentlyModified"
#: Largest ``PageSize`` of Leads.RecentlyModified; larger requests are served this many.
MAX_LEADS_PAGE_SIZE = 5000
#: Columns Leads.RecentlyModified knows, in their default order.
LEAD_COLUMNS: tuple[str, ...] = (
    "ProspectID",
    "FirstName",
    "LastName",
    "EmailAddress",
    "Phone",
    "ModifiedOn",
)
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# A fixed identity for the sandbox user: stable across runs, and visibly not a real account.
_USER_ID = "00000000-5a4d-4b0e-8000-000000000001"


class ApiError(Exception):
    """An error answer in LeadSquared's shape.

    :param status: HTTP status code.
    :param exception_type: the ``ExceptionType`` value, e.g. ``MXInvalidInputException``.
    :param message: the ``ExceptionMessage`` value; never contains a key.
    """

    def __init__(self, status: int, exception_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.exception_type = exception_type
        self.message = message

    def body(self) -> dict[str, str]:
        """Return the JSON body of the error answer."""
        return mx_error(self.exception_type, self.message)


def mx_error(exception_type: str, message: str) -> dict[str, str]:
    """Return an error body as LeadSquared sends it.

    :param exception_type: the ``ExceptionType`` value.
    :param message: the ``ExceptionMessage`` value.
    """
    return {"Status": "Error", "ExceptionType": exception_type, "ExceptionMessage": message}


def invalid(message: str) -> ApiError:
    """Return the 400 error for a request that does not follow the API specification.

    :param message: what is wrong, for the user to act on.
    """
    return ApiError(400, "MXInvalidInputException", message)


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a request body that must be a JSON object; an empty body counts as ``{}``.

    :param raw: the request body.
    :raises ApiError: 400 when the body is not a JSON object.
    """
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise invalid(f"Request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    return body


def matching_activities(dataset: Dataset, lead_id: str, activity_event: int | None = None) -> list[dict[str, Any]]:
    """Return the stored activities of a lead (newest first), optionally of one event code.

    The dicts are the data set's own: callers must not modify them.

    :param dataset: the data set.
    :param lead_id: the lead's GUID; an unknown lead has no activities.
    :param activity_event: event code to keep, or ``None`` for all.
    """
    lead = dataset.lead(lead_id)
    if lead is None:
        return []
    if activity_event is None:
        return lead.activities
    return [item for item in lead.activities if item["EventCode"] == activity_event]


def truth(
    dataset: Dataset, lead_id: str, activity_event: int | None = None, get_file_url: bool = False
) -> list[dict[str, Any]]:
    """Return a deep copy of every activity the API holds for a lead, newest first.

    :param dataset: the data set.
    :param lead_id: the lead's GUID.
    :param activity_event: event code to keep, or ``None`` for all.
    :param get_file_url: show file names as ``getFileURL=true`` does.
    """
    rows = matching_activities(dataset, lead_id, activity_event)
    if get_file_url:
        rows = [with_file_urls(item) for item in rows]
    return copy.deepcopy(rows)


def retrieve_activities(
    dataset: Dataset, config: SandboxConfig, query: Mapping[str, str], raw_body: bytes
) -> dict[str, Any]:
    """Answer ``POST /v2/ProspectActivity.svc/Retrieve``.

    :param dataset: the data set.
    :param config: paging readings (``offset_mode``, ``record_count``, ``row_cap``...).
    :param query: query parameters, names lower-cased.
    :param raw_body: the request body.
    :raises ApiError: 400 for a missing or malformed lead id, body or paging.
    """
    lead_id = query.get("leadid")
    if not lead_id:
        raise invalid("Query parameter leadId is required")
    if not _GUID.fullmatch(lead_id):
        raise invalid(f"leadId {lead_id[:64]!r} is not a valid GUID")
    body = parse_body(raw_body)
    parameter = object_field(body, "Parameter")
    event = integer_field(parameter.get("ActivityEvent"), "Parameter.ActivityEvent")
    paging = object_field(body, "Paging")
    offset = integer_field(paging.get("Offset"), "Paging.Offset")
    row_count = integer_field(paging.get("RowCount"), "Paging.RowCount")
    rows = matching_activities(dataset, lead_id, event)
    try:
        count, page = page_of(
            rows,
            offset,
            row_count,
            offset_mode=config.offset_mode,
            record_count=config.record_count,
            row_cap=config.row_cap,
            default_rows=config.default_rows,
        )
    except ValueError as error:
        raise invalid(str(error)) from None
    if query.get("getfileurl", "").lower() == "true":
        page = [with_file_urls(item) for item in page]
    return {"RecordCount": count, "ProspectActivities": page}


def user_by_access_key(api_url: str) -> dict[str, Any]:
    """Answer ``GET /v2/Authentication.svc/UserByAccessKey.Get``.

    :param api_url: the account's API base URL (its region's host), e.g.
        ``http://localhost:54321``.
    """
    return {
        "Id": _USER_ID,
        "FirstName": "Sandbox",
        "LastName": "User",
        "EmailAddress": "sandbox.user@example.com",
        "Role": "Administrator",
        "TimeZone": "UTC",
        "IsAdministrator": True,
        "OrgId": "00000",
        "OrgShortCode": "sandbox",
        "OrgDisplayName": "Sandbox Account",
        "Plan": "Sandbox",
        "LSQCommonServiceURLs": {"api": api_url, "app": api_url},
    }


def parse_time(value: Any, name: str) -> datetime:
    """Parse a LeadSquared ``YYYY-MM-DD HH:MM:SS`` value.

    :param value: the value sent.
    :param name: the parameter's name, for the error message.
    :raises ApiError: 400 when the value is missing or not in that format.
    """
    if value is None or value == "":
        raise invalid(f"{name} is required (format YYYY-MM-DD HH:MM:SS, UTC)")
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except (TypeError, ValueError):
        raise invalid(f"{name} {value!r} is not a date in the format YYYY-MM-DD HH:MM:SS") from None


def leads_modified(
    dataset: Dataset, from_date: datetime, to_date: datetime, column: str = "ModifiedOn", descending: bool = False
) -> list[Lead]:
    """Return the leads modified within ``[from_date, to_date]``, sorted.

    :param dataset: the data set.
    :param from_date: first modification time included.
    :param to_date: last modification time included.
    :param column: column to sort by (one of :data:`LEAD_COLUMNS`).
    :param descending: sort descending; ties stay in ascending ProspectID order.
    """
    lower, upper = from_date.strftime(TIME_FORMAT), to_date.strftime(TIME_FORMAT)
    # The fixed-width format sorts like the time it stands for, so strings compare safely.
    leads = sorted(
        (lead for lead in dataset.leads if lower <= lead.modified_on <= upper),
        key=lambda lead: lead.lead_id,
    )
    leads.sort(key=lambda lead: _lead_value(lead, column) or "", reverse=descending)
    return leads


def recently_modified(dataset: Dataset, raw_body: bytes) -> dict[str, Any]:
    """Answer ``POST /v2/LeadManagement.svc/Leads.RecentlyModified``.

    :param dataset: the data set.
    :param raw_body: the request body.
    :raises ApiError: 400 for missing or invalid dates, paging, sorting or columns.
    """
    body = parse_body(raw_body)
    parameter = object_field(body, "Parameter")
    from_date = parse_time(parameter.get("FromDate"), "Parameter.FromDate")
    to_date = parse_time(parameter.get("ToDate"), "Parameter.ToDate")
    columns = _columns(object_field(body, "Columns").get("Include_CSV"))
    page_index, page_size = index_paging(body, default_size=100)
    page_size = min(page_size, MAX_LEADS_PAGE_SIZE)
    sorting = object_field(body, "Sorting")
    column = sorting.get("ColumnName") or "ModifiedOn"
    if column not in LEAD_COLUMNS:
        raise invalid(f"Sorting.ColumnName {column!r} is not one of {', '.join(LEAD_COLUMNS)}")
    direction = sorting.get("Direction", "0")
    if str(direction) not in ("0", "1"):
        raise invalid(f"Sorting.Direction must be 0 (ascending) or 1 (descending), got {direction!r}")
    leads = leads_modified(dataset, from_date, to_date, column, descending=str(direction) == "1")
    first = (page_index - 1) * page_size
    return {
        "RecordCount": len(leads),
        "Leads": [
            {"LeadPropertyList": [{"Attribute": name, "Value": _lead_value(lead, name)} for name in columns]}
            for lead in leads[first : first + page_size]
        ],
    }


def _lead_value(lead: Lead, column: str) -> str | None:
    return {
        "ProspectID": lead.lead_id,
        "FirstName": lead.first_name,
        "LastName": lead.last_name,
        "EmailAddress": lead.email,
        "Phone": lead.phone,
        "ModifiedOn": lead.modified_on,
    }.get(column)


def _columns(include_csv: Any) -> list[str]:
    if include_csv is None or include_csv == "":
        return list(LEAD_COLUMNS)
    if not isinstance(include_csv, str):
        raise invalid("Columns.Include_CSV must be a comma-separated string of column names")
    requested = [name.strip() for name in include_csv.split(",") if name.strip()]
    # ProspectID and ModifiedOn always come back: a caller needs them to page and resume.
    columns = ["ProspectID"]
    for name in requested:
        if name in LEAD_COLUMNS and name not in columns:
            columns.append(name)
    if "ModifiedOn" not in columns:
        columns.append("ModifiedOn")
    return columns


def index_paging(body: Mapping[str, Any], default_size: int) -> tuple[int, int]:
    """Read ``Paging.PageIndex`` (from 1, default 1) and ``Paging.PageSize`` (default ``default_size``).

    :param body: the request body.
    :param default_size: the page size when none is sent.
    :raises ApiError: 400 for a page index or size that is not an integer of at least 1.
    """
    paging = object_field(body, "Paging")
    page_index = integer_field(paging.get("PageIndex"), "Paging.PageIndex")
    page_size = integer_field(paging.get("PageSize"), "Paging.PageSize")
    page_index = 1 if page_index is None else page_index
    page_size = default_size if page_size is None else page_size
    if page_index < 1:
        raise invalid(f"Paging.PageIndex starts at 1, got {page_index}")
    if page_size < 1:
        raise invalid(f"Paging.PageSize must be at least 1, got {page_size}")
    return page_index, page_size


def object_field(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """Read an optional JSON object member; absent or null counts as ``{}``.

    :param body: the enclosing object.
    :param name: the member's name.
    :raises ApiError: 400 when the member is not an object.
    """
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def integer_field(value: Any, name: str) -> int | None:
    """Read an optional integer sent as a number or, as the documented examples do, a string.

    :param value: the value sent; ``None`` or ``""`` means not sent.
    :param name: the parameter's name, for the error message.
    :raises ApiError: 400 for anything but an integer.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        return int(value)
    raise invalid(f"{name} must be an integer, got {value!r}")
