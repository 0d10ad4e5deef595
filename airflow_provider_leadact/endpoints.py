"""LeadSquared's endpoints, each bound once: its path, its request, the check of its answer.

One typed method per endpoint over a :class:`~airflow_provider_leadact.client.LeadSquaredClient`
(which sends the call under the budget, retries faults and maps errors). The pagers, the
listing and the loops of :mod:`.fetching` receive these methods as callables and never see
HTTP; the hook composes them and holds no URL.

An answer that is not what its endpoint returns is a
:class:`~airflow_provider_leadact.exceptions.LeadSquaredApiError` naming what was fetched,
never read as "no data".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from airflow_provider_leadact.activity_types import (
    SETTING_PATH,
    TYPES_ENDPOINT,
    TYPES_PATH,
    ActivityType,
    parse_catalogue,
    parse_setting,
    setting_endpoint,
)
from airflow_provider_leadact.client import USER_PATH, LeadSquaredClient
from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.paging import record_count_of
from airflow_provider_leadact.times import api_time

ACTIVITIES_PATH = "/v2/ProspectActivity.svc/Retrieve"
RECENTLY_MODIFIED_PATH = "/v2/LeadManagement.svc/Leads.RecentlyModified"
DATE_RANGE_PATH = "/v2/ProspectActivity.svc/RetrieveRecentlyModified"
CHANGE_HISTORY_PATH = "/v2/ProspectActivity.svc/RetrieveActivityChange"
#: Leads.RecentlyModified returns at most this many leads per call.
LEADS_PAGE_SIZE = 1000

__all__ = [
    "ACTIVITIES_PATH",
    "CHANGE_HISTORY_PATH",
    "DATE_RANGE_PATH",
    "LEADS_PAGE_SIZE",
    "RECENTLY_MODIFIED_PATH",
    "SETTING_PATH",
    "TYPES_PATH",
    "USER_PATH",
    "LeadSquaredApi",
    "LeadsPage",
    "Page",
]


class Page(NamedTuple):
    """One page of rows and the ``RecordCount`` beside it (None when the answer has none)."""

    record_count: int | None
    rows: list[dict[str, Any]]


class LeadsPage(NamedTuple):
    """One page of ``Leads.RecentlyModified``.

    :param record_count: the ``RecordCount`` beside it (None when the answer has none).
    :param lead_ids: the ids of its leads that name one, lower-case, in the answer's order.
    :param size: how many leads the page holds (a short page is the last).
    """

    record_count: int | None
    lead_ids: list[str]
    size: int


class LeadSquaredApi:
    """LeadSquared's API, one typed method per endpoint.

    :param client: the connection's client (budget, retries, errors, the account's host).
    """

    def __init__(self, client: LeadSquaredClient) -> None:
        self.client = client

    def activities_page(
        self, lead_id: str, offset: int, row_count: int, *, event: int | None = None, get_file_url: bool = False
    ) -> Page:
        """A page of one lead's activities, newest first (``ProspectActivity.svc/Retrieve``).

        :param lead_id: the lead's ProspectID, already checked.
        :param offset: ``Paging.Offset`` as the pager means it (see :mod:`.paging`).
        :param row_count: ``Paging.RowCount``.
        :param event: only activities of this event code; None for all.
        :param get_file_url: ask for the URLs of files uploaded to custom objects.
        """
        params = {"leadId": lead_id}
        if get_file_url:
            params["getFileURL"] = "true"
        body: dict[str, Any] = {"Paging": {"Offset": str(offset), "RowCount": str(row_count)}}
        if event is not None:
            body["Parameter"] = {"ActivityEvent": event}
        what = f"activities of lead {lead_id}"
        payload = self.client.post_json(
            ACTIVITIES_PATH, body, params=params, what=f"{what} (Offset {offset})", expect="ProspectActivities"
        )
        return _page(payload, "ProspectActivities", what, id_key="Id")

    def date_range_page(
        self,
        lo: str,
        hi: str,
        column: str,
        page_index: int,
        page_size: int,
        newest_first: bool = False,
        *,
        event: int | None = None,
        what: str,
        attempts: int | None = None,
    ) -> Page:
        """A page of every lead's activities between two times (``RetrieveRecentlyModified``).

        :param lo: ``FromDate``, as the listing sends it.
        :param hi: ``ToDate``, included.
        :param column: the column sorted on (and, by some servers, filtered on).
        :param newest_first: sort descending.
        :param event: only activities of this event code; None for all.
        :param what: what is listed, for messages (e.g. ``activities changed in <window>``).
        :param attempts: attempts instead of the connection's ``max_attempts``.
        """
        parameter: dict[str, Any] = {"FromDate": lo, "ToDate": hi, "IncludeCustomFields": 1}
        if event is not None:
            parameter["ActivityEvent"] = event
        body = {
            "Parameter": parameter,
            "Paging": {"PageIndex": page_index, "PageSize": page_size},
            "Sorting": {"ColumnName": column, "Direction": 1 if newest_first else 0},
        }
        payload = self.client.call(
            "POST",
            DATE_RANGE_PATH,
            body=body,
            what=f"{what} (RetrieveRecentlyModified from {lo} to {hi} by {column}, page {page_index})",
            expect="ProspectActivities",
            attempts=attempts,
        )
        return _page(payload, "ProspectActivities", what, id_key="Id")

    def change_history_page(
        self, lo: str, hi: str, page_index: int, page_size: int, *, event: int | None = None, what: str
    ) -> Page:
        """A page of the account's activity changes between two times (``RetrieveActivityChange``).

        :param event: only changes of activities of this event code; None for all.
        :param what: what is listed, for messages (e.g. ``changes in <window>``).
        """
        parameter: dict[str, Any] = {"FromDate": lo, "ToDate": hi}
        if event is not None:
            parameter["ActivityEvents"] = [event]
        body = {"Parameter": parameter, "Paging": {"PageIndex": page_index, "PageSize": page_size}}
        payload = self.client.post_json(
            CHANGE_HISTORY_PATH,
            body,
            what=f"{what} (RetrieveActivityChange, page {page_index})",
            expect="Activities",
        )
        return _page(payload, "Activities", f"{what} (RetrieveActivityChange)")

    def leads_page(self, first: datetime, last: datetime, page_index: int, *, what: str) -> LeadsPage:
        """A page of the leads modified from ``first`` to ``last``, both included, oldest change
        first (``Leads.RecentlyModified``, :data:`LEADS_PAGE_SIZE` leads a page).

        :param first: the first second, UTC.
        :param last: the last second, UTC (the API's bounds are inclusive).
        :param what: what is listed, for messages.
        """
        body = {
            "Parameter": {"FromDate": api_time(first), "ToDate": api_time(last)},
            "Columns": {"Include_CSV": "ProspectID,ModifiedOn"},
            "Paging": {"PageIndex": page_index, "PageSize": LEADS_PAGE_SIZE},
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "0"},
        }
        payload = self.client.post_json(
            RECENTLY_MODIFIED_PATH, body, what=f"{what} (page {page_index})", expect="Leads"
        )
        if payload.get("Leads") is None:
            return LeadsPage(record_count_of(payload.get("RecordCount")), [], 0)  # null: no lead changed
        page = _page(payload, "Leads", what, noun="leads")
        ids = []
        for lead in page.rows:
            properties = lead.get("LeadPropertyList") or []
            named = {p.get("Attribute"): p.get("Value") for p in properties if isinstance(p, dict)}
            if named.get("ProspectID"):
                ids.append(str(named["ProspectID"]).lower())
        return LeadsPage(page.record_count, ids, len(page.rows))

    def user(self, *, attempts: int | None = None, timeout: float | None = None) -> dict[str, Any]:
        """The user behind the keys (``Authentication.svc/UserByAccessKey.Get``), which every
        region's host answers.

        :param attempts: attempts instead of the connection's ``max_attempts``.
        :param timeout: seconds per attempt instead of the connection's ``timeout_seconds``.
        """
        base_url = self.client.base_url
        user = self.client.call(
            "GET", USER_PATH, what=f"UserByAccessKey.Get on {base_url}", attempts=attempts, timeout=timeout
        )
        if not isinstance(user, dict):
            raise LeadSquaredApiError(f"UserByAccessKey.Get on {base_url} answered something other than a user")
        return user

    def activity_types(self) -> list[ActivityType]:
        """The account's activity types, their ``fields`` still empty (``ActivityTypes.Get``)."""
        return parse_catalogue(self.client.call("GET", TYPES_PATH, what=TYPES_ENDPOINT))

    def activity_fields(self, code: int) -> list[dict[str, Any]]:
        """The custom fields of one activity type (``CustomActivity/GetActivitySetting``)."""
        payload = self.client.call(
            "GET", SETTING_PATH, params={"code": str(code)}, what=setting_endpoint(code), expect="Fields"
        )
        return parse_setting(payload, code)


def _page(payload: Any, key: str, what: str, *, id_key: str | None = None, noun: str = "activities") -> Page:
    """The one check of a page: ``key`` holds a list of JSON objects (each with ``id_key``)."""
    rows = payload.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and (id_key is None or id_key in r) for r in rows):
        raise LeadSquaredApiError(f"{what}: {key} is not a list of {noun}")
    return Page(record_count_of(payload.get("RecordCount")), rows)
