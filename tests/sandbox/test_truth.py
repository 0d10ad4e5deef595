"""Ground truth per interval, edits "now", and Sandbox.reset(), in Python and over HTTP."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pendulum
import pytest

from airflow_provider_leadact.sandbox import Sandbox, SandboxConfig
from airflow_provider_leadact.sandbox.data import TIME_FORMAT
from tests.support.sandbox import SHARED_SANDBOX, Client


def per_lead_truth(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [item for rows in sandbox.all_truth().values() for item in rows]


def changed_in(sandbox: Sandbox, low: str, high: str) -> list[dict[str, Any]]:
    """The interval's truth computed here: ModifiedOn in [low, high), sorted by Id."""
    return sorted((item for item in per_lead_truth(sandbox) if low <= item["ModifiedOn"] < high), key=lambda i: i["Id"])


def test_truth_changed_is_half_open_and_sorted_by_id(sandbox: Sandbox) -> None:
    expected = changed_in(sandbox, "2025-01-03 00:00:00", "2025-01-04 00:00:00")
    assert len(expected) > 100
    assert sandbox.truth_changed("2025-01-03T00:00:00", "2025-01-04T00:00:00") == expected
    # The same interval in every accepted form.
    assert sandbox.truth_changed("2025-01-03 00:00:00", "2025-01-04") == expected
    assert sandbox.truth_changed(datetime(2025, 1, 3), datetime(2025, 1, 4)) == expected
    aware = pendulum.datetime(2025, 1, 3, 5, 30, tz="Asia/Kolkata")  # 00:00 UTC
    assert sandbox.truth_changed(aware, aware.add(days=1)) == expected
    # Consecutive intervals partition the history: nothing in two, nothing in none.
    days = [datetime(2025, 1, 1) + timedelta(days=n) for n in range(15)]
    pieces = [sandbox.truth_changed(a, b) for a, b in itertools.pairwise(days)]
    ids = [item["Id"] for piece in pieces for item in piece]
    assert len(ids) == len(set(ids)) == sandbox.dataset.activity_count


def test_truth_changed_returns_copies(sandbox: Sandbox) -> None:
    rows = sandbox.truth_changed("2025-01-03T00:00:00", "2025-01-04T00:00:00")
    rows[0]["ActivityScore"] = -999
    assert sandbox.truth_changed("2025-01-03T00:00:00", "2025-01-04T00:00:00")[0]["ActivityScore"] != -999


def test_bad_interval_values(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="from_date"):
        sandbox.truth_changed("yesterday", "2025-01-04")
    with pytest.raises(ValueError, match="to_date"):
        sandbox.truth_changed("2025-01-03", 20250104)  # type: ignore[arg-type]


def test_history_days(sandbox: Sandbox) -> None:
    expected = sorted({item["ModifiedOn"][:10] for item in per_lead_truth(sandbox)})
    assert sandbox.history_days() == expected
    assert expected[0] == "2025-01-01" and expected[-1] == "2025-01-14" and len(expected) == 14


def test_truth_over_http(client: Client, sandbox: Sandbox) -> None:
    params = {"from": "2025-01-05T00:00:00", "to": "2025-01-06T00:00:00"}
    answer = client.control("GET", "/truth/changed", params=params)
    assert answer.status_code == 200
    assert answer.json() == changed_in(sandbox, "2025-01-05 00:00:00", "2025-01-06 00:00:00")
    assert client.control("GET", "/history/days").json() == sandbox.history_days()
    changes = client.control("GET", "/truth/changes", params=params).json()
    assert changes == sandbox.truth_changes("2025-01-05T00:00:00", "2025-01-06T00:00:00")
    # Every activity changed in the interval apart from its CreatedOn has its change there.
    assert {row["ActivityId"] for row in changes} >= {
        item["Id"] for item in answer.json() if item["ModifiedOn"] != item["CreatedOn"]
    }
    missing = client.control("GET", "/truth/changed", params={"from": "2025-01-05T00:00:00"})
    assert missing.status_code == 400 and "to=" in missing.json()["error"]
    bad = client.control("GET", "/truth/changed", params={"from": "soon", "to": "later"})
    assert bad.status_code == 400
    assert sandbox.stats()["calls"] == 0  # control calls are not API calls


def test_edits_now_move_activities_and_their_leads(client: Client, sandbox: Sandbox) -> None:
    before = {item["Id"]: item for item in per_lead_truth(sandbox)}
    began = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None)
    changes = sandbox.edit_activities(5)
    ended = datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
    assert len({change["ActivityId"] for change in changes}) == 5
    after = {item["Id"]: item for item in per_lead_truth(sandbox)}
    for change in changes:
        old, new = before[change["ActivityId"]], after[change["ActivityId"]]
        assert began <= datetime.strptime(new["ModifiedOn"], TIME_FORMAT) <= ended
        assert new["ActivityScore"] == old["ActivityScore"] + 1 and new["CreatedOn"] == old["CreatedOn"]
        assert change["OldValue"] == {"ActivityScore": old["ActivityScore"]}
        # The lead's last change is now: listed for this moment, no longer for its old day.
        now_ids = sandbox.leads_modified(began.strftime(TIME_FORMAT), ended.strftime(TIME_FORMAT))
        assert new["RelatedProspectId"] in now_ids
    untouched = set(before) - {change["ActivityId"] for change in changes}
    assert all(before[key] == after[key] for key in untouched)
    # The interval that held an edited activity no longer does; the one with "now" does.
    edited = after[changes[0]["ActivityId"]]
    old_day = before[edited["Id"]]["ModifiedOn"][:10]
    day_start = datetime.strptime(old_day, "%Y-%m-%d")
    assert edited["Id"] not in {i["Id"] for i in sandbox.truth_changed(day_start, day_start + timedelta(days=1))}
    assert edited["Id"] in {i["Id"] for i in sandbox.truth_changed(began, ended)}
    assert sandbox.stats()["edits"] == 5


def test_edits_at_a_chosen_time_and_of_one_lead(sandbox: Sandbox) -> None:
    lead = max(sandbox.dataset.leads, key=lambda item: len(item.activities))
    changes = sandbox.edit_activities(3, at="2025-01-20T08:00:00", lead_id=lead.lead_id)
    assert {change["RelatedProspectId"] for change in changes} == {lead.lead_id}
    assert {change["ModifiedOn"] for change in changes} == {"2025-01-20 08:00:00"}
    assert sandbox.truth_changed("2025-01-20", "2025-01-21") == sorted(
        (item for item in sandbox.truth(lead.lead_id) if item["ModifiedOn"] == "2025-01-20 08:00:00"),
        key=lambda item: item["Id"],
    )
    # Only activities last modified at or before the edit time qualify.
    early = sandbox.edit_activities(1000, at="2025-01-01 00:30:00")
    assert all(change["CreatedOn"] <= "2025-01-01 00:30:00" for change in early)
    assert sandbox.edit_activities(0) == []
    with pytest.raises(ValueError, match="count"):
        sandbox.edit_activities(-1)


def test_edit_over_http(client: Client, sandbox: Sandbox) -> None:
    answer = client.control("POST", "/edit", json={"count": 2, "at": "2025-02-01T00:00:00"})
    assert answer.status_code == 200
    edited = answer.json()["edited"]
    assert len(edited) == 2 and {row["ModifiedOn"] for row in edited} == {"2025-02-01 00:00:00"}
    assert [row["Id"] for row in sandbox.truth_changed("2025-02-01", "2025-02-02")] == sorted(
        row["ActivityId"] for row in edited
    )
    assert client.control("POST", "/edit", json={"count": "two"}).status_code == 400
    assert client.control("POST", "/edit", json={"colour": 1}).status_code == 400


def test_same_seed_edits_the_same_activities_after_reset(sandbox: Sandbox) -> None:
    first = [change["ActivityId"] for change in sandbox.edit_activities(6, at="2025-03-01 00:00:00")]
    sandbox.reset()
    again = [change["ActivityId"] for change in sandbox.edit_activities(6, at="2025-03-01 00:00:00")]
    assert first == again


def test_reset_goes_back_to_the_start(client: Client, sandbox: Sandbox) -> None:
    pristine = sandbox.all_truth()
    leads_before = sandbox.leads_modified("2025-01-01 00:00:00", "2025-01-31 00:00:00")
    sandbox.edit_activities(10)
    sandbox.configure(offset_mode="row", range_filter_on="CreatedOn", daily_call_cap=5, latency=0.01)
    sandbox.inject_faults("500", 3)
    client.user()
    assert sandbox.stats()["calls"] == 1
    sandbox.reset()
    assert sandbox.all_truth() == pristine
    assert sandbox.leads_modified("2025-01-01 00:00:00", "2025-01-31 00:00:00") == leads_before
    assert sandbox.config == SandboxConfig(**SHARED_SANDBOX)
    assert sandbox.stats()["calls"] == 0 and sandbox.stats()["edits"] == 0
    assert client.user().status_code == 200  # no fault left queued
    # Without edits or data changes the data set object is kept: resetting is cheap.
    dataset = sandbox.dataset
    sandbox.reset()
    assert sandbox.dataset is dataset


def test_reset_over_http(client: Client, sandbox: Sandbox) -> None:
    sandbox.edit_activities(3)
    sandbox.configure(record_count="page")
    answer = client.control("POST", "/reset")
    assert answer.status_code == 200 and answer.json()["record_count"] == "total"
    assert sandbox.stats()["edits"] == 0 and sandbox.truth_changed("2026-01-01", "2100-01-01") == []


DOCUMENTED_ACTIVITY = {
    "Id": "c310391d-6784-418b-b61c-bca2d0a7a645",
    "EventCode": "164",
    "CreatedOn": "2018-12-12 10:36:00",
    "RelatedProspectId": "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf",
    "ActivityFields": {"mx_Custom_1": "{}", "Status": "Active"},
    "ModifiedOn": "2018-12-12 10:57:45",
}


def test_added_activities_are_served_by_every_endpoint_until_reset(client: Client, sandbox: Sandbox) -> None:
    lead = sandbox.lead_ids()[0]
    older = {**DOCUMENTED_ACTIVITY, "Id": "5c92870f-a337-458f-8be1-0e2458513051", "RelatedProspectId": lead}
    answer = client.control("POST", "/activities", json={"activities": [DOCUMENTED_ACTIVITY, older]})
    assert answer.status_code == 200 and answer.json() == {"added": 2}
    new_lead = DOCUMENTED_ACTIVITY["RelatedProspectId"]
    assert sandbox.truth(new_lead) == [DOCUMENTED_ACTIVITY]  # as given: "164" stays a string
    assert sandbox.truth(lead)[-1] == older  # its place in the history, newest first
    per_lead = client.post("/v2/ProspectActivity.svc/Retrieve", {}, params={"leadId": new_lead.upper()}).json()
    assert per_lead == {"RecordCount": 1, "ProspectActivities": [DOCUMENTED_ACTIVITY]}
    window = {"FromDate": "2018-12-12 00:00:00", "ToDate": "2018-12-12 23:59:59", "IncludeCustomFields": 1}
    listed = client.post("/v2/ProspectActivity.svc/RetrieveRecentlyModified", {"Parameter": window}).json()
    assert {row["Id"] for row in listed["ProspectActivities"]} == {DOCUMENTED_ACTIVITY["Id"], older["Id"]}
    assert [item["Id"] for item in sandbox.truth_changed("2018-12-12T00:00:00", "2018-12-13T00:00:00")] == sorted(
        (DOCUMENTED_ACTIVITY["Id"], older["Id"])
    )
    assert client.control("POST", "/activities", json={"activities": [older]}).status_code == 400  # taken
    assert client.control("POST", "/activities", json={"activities": [{"Id": "x"}]}).status_code == 400
    assert client.control("POST", "/activities", json={"activity": {}}).status_code == 400
    sandbox.reset()
    assert sandbox.truth(new_lead) == [] and older["Id"] not in {a["Id"] for a in sandbox.truth(lead)}


def test_a_digest_summarises_an_interval_too_large_to_ship(client: Client, sandbox: Sandbox) -> None:
    import hashlib

    params = {"from": "2025-01-05T00:00:00", "to": "2025-01-07T00:00:00", "digest": "1"}
    summary = client.control("GET", "/truth/changed", params=params).json()
    rows = sandbox.truth_changed("2025-01-05T00:00:00", "2025-01-07T00:00:00")
    lines = [f"{a['Id']}|{a['ModifiedOn']}|{a['ActivityScore']}" for a in rows]
    total = sum(int(hashlib.sha256(line.encode()).hexdigest(), 16) for line in lines) % (1 << 256)
    assert summary == {
        "activities": len(rows),
        "leads": len({a["RelatedProspectId"] for a in rows}),
        "digest": f"{total:064x}",
    }
    assert summary["activities"] > 100
    # One activity fewer, or one in another version, is another digest.
    assert client.control("GET", "/truth/changed", params={**params, "to": "2025-01-06T12:00:00"}).json() != summary
