"""Get Activities by Date Range and Get Activity Change History, over real HTTP.

Expected answers are computed here from the per-lead ground truth (``all_truth``), not from
the sandbox's listing code.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.date_range import CHANGES_PATH, RANGE_PATH
from tests.support.sandbox import Client

FROM, TO = "2025-01-03 00:00:00", "2025-01-05 23:59:59"


def everything(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [item for rows in sandbox.all_truth().values() for item in rows]


def in_window(rows: list[dict[str, Any]], column: str, low: str = FROM, high: str = TO) -> list[dict[str, Any]]:
    return [item for item in rows if low <= item[column] <= high]


def range_body(
    page_index: int = 1,
    page_size: int = 100,
    column: str = "ModifiedOn",
    direction: int = 0,
    low: str = FROM,
    high: str = TO,
    **parameter: Any,
) -> dict[str, Any]:
    return {
        "Parameter": {"FromDate": low, "ToDate": high, **parameter},
        "Paging": {"PageIndex": page_index, "PageSize": page_size},
        "Sorting": {"ColumnName": column, "Direction": direction},
    }


def page_all(client: Client, page_size: int, column: str, direction: int, **parameter: Any) -> list[dict[str, Any]]:
    """Page by PageIndex until a short page, as a client unsure of RecordCount would."""
    rows: list[dict[str, Any]] = []
    index = 1
    while True:
        response = client.post(RANGE_PATH, range_body(index, page_size, column, direction, **parameter))
        assert response.status_code == 200, response.text
        page = response.json()["ProspectActivities"]
        rows.extend(page)
        if len(page) < page_size:
            return rows
        index += 1


def assert_sorted(rows: list[dict[str, Any]], column: str, descending: bool) -> None:
    for first, second in itertools.pairwise(rows):
        if first[column] == second[column]:
            assert first["Id"] < second["Id"]  # ties by Id, ascending, in both directions
        else:
            assert (first[column] > second[column]) == descending


@pytest.mark.parametrize("record_count", ["total", "page"])
@pytest.mark.parametrize(("column", "direction"), [("ModifiedOn", 0), ("ModifiedOn", 1), ("CreatedOn", 1)])
def test_every_changed_activity_exactly_once(
    client: Client, sandbox: Sandbox, record_count: str, column: str, direction: int
) -> None:
    sandbox.configure(range_record_count=record_count)
    expected = in_window(everything(sandbox), "ModifiedOn")
    assert len(expected) > 500
    rows = page_all(client, 97, column, direction, IncludeCustomFields=1)
    assert sorted(json.dumps(row, sort_keys=True) for row in rows) == sorted(
        json.dumps(row, sort_keys=True) for row in expected
    )
    assert_sorted(rows, column, descending=direction == 1)
    first = client.post(RANGE_PATH, range_body(1, 97, column, direction)).json()
    last_index = len(expected) // 97 + 1
    last = client.post(RANGE_PATH, range_body(last_index, 97, column, direction)).json()
    if record_count == "total":
        assert first["RecordCount"] == last["RecordCount"] == len(expected)
    else:
        assert first["RecordCount"] == 97 and last["RecordCount"] == len(expected) % 97
    assert len(last["ProspectActivities"]) == len(expected) % 97


def test_page_size_is_capped_silently(client: Client, sandbox: Sandbox) -> None:
    expected = in_window(everything(sandbox), "ModifiedOn")
    assert len(client.post(RANGE_PATH, range_body(1, 5000)).json()["ProspectActivities"]) == 1000
    sandbox.configure(range_max_page_size=40)
    first = client.post(RANGE_PATH, range_body(1, 1000)).json()
    second = client.post(RANGE_PATH, range_body(2, 1000)).json()
    assert first["RecordCount"] == len(expected)  # the total still says how many remain
    assert len(first["ProspectActivities"]) == len(second["ProspectActivities"]) == 40
    ordered = sorted(expected, key=lambda item: (item["ModifiedOn"], item["Id"]))
    assert [row["Id"] for row in first["ProspectActivities"] + second["ProspectActivities"]] == [
        item["Id"] for item in ordered[:80]
    ]


def test_filter_on_created_on_leaves_out_later_edits(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(range_filter_on="CreatedOn")
    rows = everything(sandbox)
    expected = {item["Id"] for item in in_window(rows, "CreatedOn")}
    listed = {row["Id"] for row in page_all(client, 500, "CreatedOn", 0)}
    assert listed == expected
    edited_later = {item["Id"] for item in in_window(rows, "ModifiedOn")} - expected
    assert len(edited_later) > 20  # created before the window, edited in it: not listed


def test_both_bounds_are_inclusive_to_the_second(client: Client, sandbox: Sandbox) -> None:
    target = in_window(everything(sandbox), "ModifiedOn")[0]
    moment = target["ModifiedOn"]
    exact = client.post(RANGE_PATH, range_body(1, 1000, low=moment, high=moment)).json()
    expected = {item["Id"] for item in everything(sandbox) if item["ModifiedOn"] == moment}
    assert {row["Id"] for row in exact["ProspectActivities"]} == expected
    assert target["Id"] in expected and exact["RecordCount"] == len(expected)
    reversed_window = client.post(RANGE_PATH, range_body(low=TO, high=FROM)).json()
    assert reversed_window == {"RecordCount": 0, "ProspectActivities": []}


def test_fields_full_with_and_without_custom_fields_and_partial(client: Client, sandbox: Sandbox) -> None:
    by_id = {item["Id"]: item for item in everything(sandbox)}
    with_custom = client.post(RANGE_PATH, range_body(1, 1000, IncludeCustomFields=1)).json()["ProspectActivities"]
    assert all(row == by_id[row["Id"]] for row in with_custom)
    without = client.post(RANGE_PATH, range_body(1, 1000)).json()["ProspectActivities"]
    stripped = 0
    for row in without:
        truth = by_id[row["Id"]]
        assert row["ActivityFields"] == {k: v for k, v in truth["ActivityFields"].items() if not k.startswith("mx_")}
        assert {k: v for k, v in row.items() if k != "ActivityFields"} == {
            k: v for k, v in truth.items() if k != "ActivityFields"
        }
        stripped += row["ActivityFields"] != truth["ActivityFields"]
    assert stripped > 50
    assert client.post(RANGE_PATH, range_body(1, 1000, IncludeCustomFields="0")).json()["ProspectActivities"] == without
    sandbox.configure(range_include_fields="partial")
    partial = client.post(RANGE_PATH, range_body(1, 1000, IncludeCustomFields=True)).json()["ProspectActivities"]
    summary = ("Id", "EventCode", "EventName", "CreatedOn", "ModifiedOn", "RelatedProspectId")
    assert [row["Id"] for row in partial] == [row["Id"] for row in with_custom]
    assert all(row == {key: by_id[row["Id"]][key] for key in summary} for row in partial)


def test_activity_event_filter(client: Client, sandbox: Sandbox) -> None:
    expected = {item["Id"] for item in in_window(everything(sandbox), "ModifiedOn") if item["EventCode"] == 22}
    assert expected
    listed = page_all(client, 1000, "ModifiedOn", 1, ActivityEvent="22")
    assert {row["Id"] for row in listed} == expected


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "FromDate"),
        ({"Parameter": {"FromDate": FROM}}, "ToDate"),
        (range_body(low="2025-01-03"), "FromDate"),
        (range_body(page_index=0), "PageIndex"),
        (range_body(page_size=0), "PageSize"),
        (range_body(column="Score"), "ColumnName"),
        (range_body(direction=2), "Direction"),
        (range_body(IncludeCustomFields="yes"), "IncludeCustomFields"),
        (range_body(ActivityEvent="stage"), "ActivityEvent"),
    ],
)
def test_listing_bad_requests_answer_400(client: Client, body: dict[str, Any], fragment: str) -> None:
    response = client.post(RANGE_PATH, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["ExceptionType"] == "MXInvalidInputException" and fragment in answer["ExceptionMessage"]


@pytest.mark.parametrize("path", [RANGE_PATH, CHANGES_PATH])
def test_same_auth_rate_limit_and_faults_as_every_endpoint(client: Client, sandbox: Sandbox, path: str) -> None:
    assert client.post(path, range_body(), headers={}).status_code == 401
    sandbox.configure(rate_limit_calls=2, rate_limit_period=30.0)
    sandbox.inject_faults("503", 1)
    statuses = [client.post(path, range_body()).status_code for _ in range(3)]
    assert statuses == [503, 200, 429]
    stats = sandbox.stats()
    assert stats["by_endpoint"] == {path: 4} and stats["unauthorized"] == 1 and stats["rate_limited"] == 1
    sandbox.reset_rate_limit()
    sandbox.inject_faults("truncated", 1)
    with pytest.raises(ValueError):
        client.post(path, range_body()).json()


def test_churn_makes_naive_paging_skip_rows(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(range_churn=3)
    began = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    seen = page_all(client, 50, "ModifiedOn", 0)
    pages = len(seen) // 50 + 1
    stats = sandbox.stats()
    assert stats["edits"] == 3 * pages
    # The edited activities moved to "now", out of the past window...
    moved = [item for item in everything(sandbox) if item["ModifiedOn"] >= began]
    assert len(moved) == 3 * pages
    # ...so rows still in the window slid onto pages already read, and were never listed.
    still_there = {item["Id"] for item in in_window(everything(sandbox), "ModifiedOn")}
    missed = still_there - {row["Id"] for row in seen}
    assert len(missed) == 3 * (pages - 1)
    # Without churn nothing moves.
    sandbox.reset()
    assert {row["Id"] for row in page_all(client, 50, "ModifiedOn", 0)} == {
        item["Id"] for item in in_window(everything(sandbox), "ModifiedOn")
    }
    assert sandbox.stats()["edits"] == 0


# -- Get Activity Change History ----------------------------------------------------------


def changes_body(page_index: int = 1, page_size: int = 25, low: str = FROM, high: str = TO, **parameter: Any) -> dict:
    return {
        "Parameter": {"FromDate": low, "ToDate": high, **parameter},
        "Paging": {"PageIndex": page_index, "PageSize": page_size},
    }


def expected_changes(sandbox: Sandbox) -> list[dict[str, Any]]:
    # Every write that left ModifiedOn apart from CreatedOn is a change: an edit (the
    # activity's last, at its ModifiedOn) or a hand-dated activity's creation.
    return [item for item in sandbox.dataset.changes if FROM <= item["ModifiedOn"] <= TO]


def test_change_history_pages_every_change_once(client: Client, sandbox: Sandbox) -> None:
    expected = expected_changes(sandbox)
    assert len(expected) > 100
    rows: list[dict[str, Any]] = []
    index = 1
    while True:
        answer = client.post(CHANGES_PATH, changes_body(index, 100)).json()
        assert answer["RecordCount"] == len(expected)
        rows.extend(answer["Activities"])
        if index * 100 >= answer["RecordCount"]:
            break
        index += 1
    assert sorted((row["ActivityId"], row["ModifiedOn"]) for row in rows) == sorted(
        (item["ActivityId"], item["ModifiedOn"]) for item in expected
    )
    activities = {item["Id"]: item for item in everything(sandbox)}
    edits = 0
    for row in rows:
        activity = activities[row["ActivityId"]]
        assert row["RelatedProspectId"] == activity["RelatedProspectId"]
        if "ActivityScore" in row["NewValue"]:  # an edit, the activity's last
            edits += 1
            assert row["ModifiedOn"] == activity["ModifiedOn"]
            assert row["NewValue"]["ActivityScore"] == activity["ActivityScore"]
            assert row["OldValue"]["ActivityScore"] == activity["ActivityScore"] - 1
        else:  # a hand-dated activity written at ModifiedOn with a CreatedOn of its user's
            assert row["NewValue"] == {"CreatedOn": activity["CreatedOn"]} != row["OldValue"]
    assert 0 < edits < len(rows)
    stamps = [(row["ModifiedOn"], row["ActivityId"]) for row in rows]
    assert stamps == sorted(stamps)
    default_page = client.post(CHANGES_PATH, {"Parameter": {"FromDate": FROM, "ToDate": TO}}).json()
    assert len(default_page["Activities"]) == 25


def test_change_history_filters(client: Client, sandbox: Sandbox) -> None:
    expected = expected_changes(sandbox)
    calls = {item["ActivityId"] for item in expected if item["ActivityEvent"] in (206, 207)}
    answer = client.post(CHANGES_PATH, changes_body(page_size=1000, ActivityEvents=[206, 207])).json()
    assert {row["ActivityId"] for row in answer["Activities"]} == calls and calls
    one = expected[0]["ActivityId"]
    answer = client.post(CHANGES_PATH, changes_body(ActivityID=one.upper())).json()
    assert {row["ActivityId"] for row in answer["Activities"]} == {one}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"Parameter": {"ToDate": TO}}, "FromDate"),
        ({"Parameter": {"FromDate": FROM}}, "ToDate"),
        (changes_body(page_size=1001), "1000"),
        (changes_body(ActivityEvents=[22], ActivityID="x"), "not both"),
        (changes_body(ActivityEvents=22), "ActivityEvents"),
    ],
)
def test_change_history_bad_requests(client: Client, body: dict[str, Any], fragment: str) -> None:
    response = client.post(CHANGES_PATH, body)
    assert response.status_code == 400 and fragment in response.json()["ExceptionMessage"]


def test_edits_show_in_change_history_and_listing(client: Client, sandbox: Sandbox) -> None:
    changes = sandbox.edit_activities(4)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    window = {"low": changes[0]["ModifiedOn"], "high": now}
    history = client.post(CHANGES_PATH, changes_body(page_size=1000, **window)).json()
    assert sorted(row["ActivityId"] for row in history["Activities"]) == sorted(c["ActivityId"] for c in changes)
    listed = client.post(RANGE_PATH, range_body(1, 1000, IncludeCustomFields=1, **window)).json()
    assert sorted(row["Id"] for row in listed["ProspectActivities"]) == sorted(c["ActivityId"] for c in changes)
