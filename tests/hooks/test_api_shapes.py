"""LeadSquared read as it is documented, over real HTTP: every shape and path gives the same records.

- The documented example activity goes through the per-lead call, the date-range listing (its
  custom fields in each shape the listing may use) and the listing completed per lead, as
  documented and with its numbers sent as strings: one record.
- "Get Activity Change History" in its documented shape and flat, with or without the
  change's time: the leads and activities of the sandbox's ground truth.
- ``RecordCount`` sent as a string is read as the count it is.

Shapes the sandbox does not serve itself (numbers as strings everywhere, entries without a
time) are made by a proxy in front of it that rewrites the real answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.endpoints import ACTIVITIES_PATH, CHANGE_HISTORY_PATH, DATE_RANGE_PATH
from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.hooks.leadsquared import RECORD_SOURCE_FIELDS
from airflow_provider_leadact.records import flatten_activity
from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.validation import Window
from tests.support.examples import DOCUMENTED_ACTIVITY, numbers_as_strings
from tests.support.proxies import FailingLeadsProxy
from tests.support.truth import flattened_changed, flattened_truth

README = Path(__file__).resolve().parents[2] / "README.md"
LEAD = DOCUMENTED_ACTIVITY["RelatedProspectId"]
DAY = ("2018-12-12T00:00:00", "2018-12-13T00:00:00")  # the documented activity's ModifiedOn
NUMBER_FIELDS = ("EventCode", "ActivityScore", "ActivityType", "TrackLocation", "Latitude", "Longitude")


def exactly(record: dict[str, Any]) -> str:
    # JSON text tells 164 from "164", 0 from 0.0 and 1 from true, which == does not.
    return json.dumps(record, sort_keys=True)


@pytest.fixture
def proxied(sandbox: Sandbox) -> Iterator[Callable[[Callable[[str, Any], Any]], str]]:
    """``proxied(rewrite)``: the URL of a proxy to the (reset) sandbox that rewrites its answers."""
    proxies: list[FailingLeadsProxy] = []

    def start(rewrite: Callable[[str, Any], Any]) -> str:
        proxy = FailingLeadsProxy(sandbox.url, rewrite=rewrite).__enter__()
        proxies.append(proxy)
        return proxy.url

    yield start
    for proxy in proxies:
        proxy.__exit__(None, None, None)


# -- same record, any path ----------------------------------------------------------------

SENT = {"as documented": lambda a: a, "numbers as strings": numbers_as_strings}


@pytest.mark.parametrize("sent", list(SENT))
@pytest.mark.parametrize("custom_fields_at", ["activity_fields", "top_level", "fields_list"])
def test_one_documented_activity_gives_one_record_on_every_path(
    sandbox: Sandbox, make_hook, sent: str, custom_fields_at: str
) -> None:
    served = SENT[sent](DOCUMENTED_ACTIVITY)
    sandbox.add_activities([served])
    sandbox.configure(range_custom_fields=custom_fields_at)
    expected = exactly(flatten_activity(DOCUMENTED_ACTIVITY, LEAD))
    assert '"event_code": 164' in expected and '"latitude": 0.0' in expected

    per_lead = list(make_hook(sandbox).get_lead_activities(LEAD))
    assert per_lead == [served]  # the API's own shape, as served
    assert exactly(flatten_activity(per_lead[0], LEAD)) == expected

    sandbox.reset_stats()
    listed = list(make_hook(sandbox).iter_changed_activities(*DAY))
    assert [lead for lead, _ in listed] == [LEAD]
    if custom_fields_at == "fields_list":
        assert "ActivityFields" not in listed[0][1] and "Fields" in listed[0][1]
    elif custom_fields_at == "top_level":
        assert "mx_Custom_1" in listed[0][1] and "mx_Custom_1" not in listed[0][1]["ActivityFields"]
    assert exactly(flatten_activity(listed[0][1], LEAD)) == expected
    # The row was complete in its shape: no call for the lead.
    assert ACTIVITIES_PATH not in sandbox.stats()["by_endpoint"]

    sandbox.configure(range_include_fields="partial")
    sandbox.reset_stats()
    completed = list(make_hook(sandbox).iter_changed_activities(*DAY))
    assert sandbox.stats()["by_endpoint"][ACTIVITIES_PATH] >= 1  # summary rows: fetched per lead
    assert [exactly(flatten_activity(row, lead)) for lead, row in completed] == [expected]


def stringify_numbers(path: str, answer: Any) -> Any:
    """Every count, code and number of every activity as a string."""
    if isinstance(answer, dict) and isinstance(answer.get("RecordCount"), int):
        answer["RecordCount"] = str(answer["RecordCount"])
    for row in answer.get("ProspectActivities", []) if isinstance(answer, dict) else []:
        for key in NUMBER_FIELDS:
            if isinstance(row.get(key), int | float) and not isinstance(row.get(key), bool):
                row[key] = str(row[key])
    return answer


def test_numbers_sent_as_strings_give_the_records_of_the_truth(sandbox: Sandbox, make_hook, proxied) -> None:
    url = proxied(stringify_numbers)
    hook = make_hook(sandbox, host=url, page_size=100)
    leads = [lead for lead in sandbox.lead_ids() if 150 <= len(sandbox.truth(lead)) <= 400][:2]
    assert leads
    got = {a["Id"]: flatten_activity(a, lead) for lead, rows in hook.iter_leads_activities(leads) for a in rows}
    assert all(isinstance(a["EventCode"], str) for a in hook.get_lead_activities(leads[0]))  # as sent
    truth = flattened_truth(sandbox, leads)
    assert {k: exactly(v) for k, v in got.items()} == {k: exactly(v) for k, v in truth.items()}
    # RecordCount "173" was read as the total: learned from the first page, as an integer would be.
    assert hook.profile.totals is True


def test_record_count_as_a_string_pages_the_listing_by_its_total(sandbox: Sandbox, make_hook, proxied) -> None:
    sandbox.configure(range_filter_on="CreatedOn")
    hook = make_hook(sandbox, host=proxied(stringify_numbers), page_size=50)
    start, end = datetime(2025, 1, 5), datetime(2025, 1, 6)
    got = [activity["Id"] for _, activity in hook.iter_changed_activities(start, end)]
    truth = {a["Id"] for a in sandbox.truth_changed(start, end)}
    assert len(got) == len(set(got)) and set(got) == truth
    assert hook.listing_profile.totals is True


def test_the_readme_lists_the_fields_that_make_a_listed_row_complete() -> None:
    text = README.read_text(encoding="utf-8")
    listed = text.split("<!-- complete-row-fields -->", 1)[1].split(".", 1)[0]
    assert re.findall(r"`([A-Za-z]+)`", listed) == list(RECORD_SOURCE_FIELDS)


# -- Get Activity Change History ------------------------------------------------------------

START, END = datetime(2025, 1, 5), datetime(2025, 1, 6)


@pytest.mark.parametrize("shape", ["documented", "flat"])
def test_list_changed_gives_the_truth_under_both_change_shapes(sandbox: Sandbox, make_hook, shape: str) -> None:
    # Listed by CreatedOn, the activities created earlier and edited that day are known only
    # from the change history.
    sandbox.configure(range_filter_on="CreatedOn", changes_shape=shape)
    truth = sandbox.truth_changed(START, END)
    hook = make_hook(sandbox)
    listing = hook.changed_listing(Window.of(START, END), None)
    got = [activity["Id"] for _, activity in hook.iter_changed_activities(START, END, listing=listing)]
    assert sorted(got) == sorted(a["Id"] for a in truth)
    # Created outside the day, changed in it: named by the change history alone.
    named = {activity_id for plan in listing.refetch.values() for activity_id in plan.named}
    outside = {a["Id"] for a in truth if not "2025-01-05" <= a["CreatedOn"] < "2025-01-06"}
    assert len(outside) > 5 and outside <= named
    assert set(hook.get_changed_lead_ids(START, END)) == {a["RelatedProspectId"] for a in truth}
    assert sandbox.stats()["by_endpoint"][CHANGE_HISTORY_PATH] >= 1


def strip_change_times(path: str, answer: Any) -> Any:
    """Documented entries with nothing beside the activity: no change time, no values."""
    if path == CHANGE_HISTORY_PATH:
        answer["Activities"] = [{"Activity": entry["Activity"]} for entry in answer["Activities"]]
    return answer


def test_entries_without_a_change_time_still_land_the_truth(sandbox: Sandbox, make_hook, proxied) -> None:
    sandbox.configure(range_filter_on="CreatedOn")
    hook = make_hook(sandbox, host=proxied(strip_change_times))
    truth = flattened_changed(sandbox, START, END)
    leads = set(hook.get_changed_lead_ids(START, END))
    # Without times, an entry at the window's inclusive ToDate second may name one lead more.
    assert leads >= {record["lead_id"] for record in truth.values()}
    landed = {a["Id"]: flatten_activity(a, lead) for lead, a in hook.iter_changed_activities(START, END)}
    assert landed == truth


def test_an_entry_without_its_lead_fails_naming_the_window_and_field(sandbox: Sandbox, make_hook, proxied) -> None:
    def drop_a_lead(path: str, answer: Any) -> Any:
        if path == CHANGE_HISTORY_PATH and answer["Activities"]:
            del answer["Activities"][-1]["Activity"]["RelatedProspectId"]
        return answer

    sandbox.configure(range_filter_on="CreatedOn")
    hook = make_hook(sandbox, host=proxied(drop_a_lead))
    with pytest.raises(LeadSquaredApiError) as caught:
        hook.list_changed(START, END)
    message = str(caught.value)
    assert "RetrieveActivityChange" in message and "[2025-01-05 00:00:00, 2025-01-06 00:00:00)" in message
    assert "no lead" in message and "Activity.RelatedProspectId" in message


def test_the_listing_and_hook_paths_are_the_ones_the_sandbox_serves() -> None:
    # The proxy rewrites by path: a renamed endpoint would silently turn these tests into no-ops.
    from airflow_provider_leadact.sandbox.date_range import CHANGES_PATH, RANGE_PATH

    assert (DATE_RANGE_PATH, CHANGE_HISTORY_PATH) == (RANGE_PATH, CHANGES_PATH)


def test_a_listed_row_without_its_lead_fails_naming_the_endpoint_and_window(
    sandbox: Sandbox, make_hook, proxied
) -> None:
    def drop_a_lead(path: str, answer: Any) -> Any:
        rows = (
            answer.get("ProspectActivities")
            if isinstance(answer, dict) and "RetrieveRecentlyModified" in path
            else None
        )
        if rows:
            del rows[0]["RelatedProspectId"]
        return answer

    hook = make_hook(sandbox, host=proxied(drop_a_lead))
    with pytest.raises(LeadSquaredApiError) as caught:
        list(hook.iter_changed_activities(START, END))
    message = str(caught.value)
    # An API answer, not user input: never "lead id(s) are not valid".
    assert "RetrieveRecentlyModified" in message and "2025-01-05 00:00:00" in message
    assert "RelatedProspectId" in message and "not valid" not in message
