"""The data set as a history over many days: edits after creation, change records, last changes."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from airflow_provider_leadact.sandbox import Dataset, generate_dataset
from airflow_provider_leadact.sandbox.data import TIME_FORMAT


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset()


def stamp(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT)


def test_never_edited_activities_have_modified_on_equal_to_created_on(dataset: Dataset) -> None:
    changed = {item["ActivityId"] for item in dataset.changes}
    activities = dataset.activities()
    for item in activities:
        assert item["ModifiedOn"] >= item["CreatedOn"]
        assert (item["ModifiedOn"] > item["CreatedOn"]) == (item["Id"] in changed)
    edited = sum(item["Id"] in changed for item in activities)
    # Both kinds are common: the interval contract must hold for each.
    assert 0.2 * len(activities) < edited < 0.6 * len(activities)


def test_some_activities_are_edited_days_after_creation(dataset: Dataset) -> None:
    gaps = [stamp(item["ModifiedOn"]) - stamp(item["CreatedOn"]) for item in dataset.activities()]
    later_day = sum(gap >= timedelta(days=1) for gap in gaps)
    assert later_day >= 300
    assert max(gaps) >= timedelta(days=5)
    # ...and some within the same hour or two, the common correction.
    assert sum(timedelta(0) < gap < timedelta(hours=2) for gap in gaps) >= 300


def test_leads_are_active_on_many_days(dataset: Dataset) -> None:
    days_per_lead = [len({item["ModifiedOn"][:10] for item in lead.activities}) for lead in dataset.leads]
    assert sum(days >= 5 for days in days_per_lead) >= 30
    assert max(days_per_lead) == 14  # the two large leads change every day of the window
    # Every day of the window has changes of many leads.
    leads_per_day: dict[str, set[str]] = defaultdict(set)
    for item in dataset.activities():
        leads_per_day[item["ModifiedOn"][:10]].add(item["RelatedProspectId"])
    assert len(leads_per_day) == 14
    assert min(len(leads) for leads in leads_per_day.values()) >= 5
    per_day = Counter(item["ModifiedOn"][:10] for item in dataset.activities())
    assert min(per_day.values()) >= 40


def test_a_lead_last_change_is_its_latest_activity_change_or_later(dataset: Dataset) -> None:
    for lead in dataset.leads:
        if lead.activities:
            assert lead.modified_on >= max(item["ModifiedOn"] for item in lead.activities)
    # So listing leads by their last change misses most (lead, day) pairs with activity.
    pairs = {(item["RelatedProspectId"], item["ModifiedOn"][:10]) for item in dataset.activities()}
    listed = {(lead.lead_id, lead.modified_on[:10]) for lead in dataset.leads}
    assert len(pairs - listed) > 0.75 * len(pairs)


def test_change_records_match_the_activities(dataset: Dataset) -> None:
    activities = {item["Id"]: item for item in dataset.activities()}
    assert len({item["ActivityId"] for item in dataset.changes}) == len(dataset.changes)  # one edit each
    for change in dataset.changes:
        activity = activities[change["ActivityId"]]
        assert change["ModifiedOn"] == activity["ModifiedOn"]
        assert change["CreatedOn"] == activity["CreatedOn"]
        assert change["RelatedProspectId"] == activity["RelatedProspectId"]
        assert change["ActivityEvent"] == activity["EventCode"]
        assert change["NewValue"] == {"ActivityScore": activity["ActivityScore"]}
        assert change["OldValue"] == {"ActivityScore": activity["ActivityScore"] - 1}
        assert change["ModifiedByName"]
    keys = [(item["ModifiedOn"], item["ActivityId"]) for item in dataset.changes]
    assert keys == sorted(keys)


def test_edit_replaces_the_dict_moves_the_lead_and_records_the_change() -> None:
    dataset = generate_dataset(leads=12, seed=5)
    lead = max(dataset.leads, key=lambda item: len(item.activities))
    before = lead.activities[3]
    kept: dict[str, Any] = dict(before)
    change = dataset.edit(before["Id"].upper(), "2025-02-01 10:00:00", by="Tester")
    after = dataset.activity(before["Id"])
    assert before == kept  # the old dict is untouched: pages already handed out stay valid
    assert after is lead.activities[3] and after is not before
    assert after["ModifiedOn"] == "2025-02-01 10:00:00" and after["CreatedOn"] == before["CreatedOn"]
    assert after["ActivityScore"] == before["ActivityScore"] + 1
    assert {key: value for key, value in after.items() if key not in ("ModifiedOn", "ActivityScore")} == {
        key: value for key, value in before.items() if key not in ("ModifiedOn", "ActivityScore")
    }
    assert lead.modified_on == "2025-02-01 10:00:00"
    assert dataset.changes[-1] == change
    assert change["OldValue"] == {"ActivityScore": before["ActivityScore"]}
    assert change["ModifiedByName"] == "Tester"
    with pytest.raises(ValueError, match="before ModifiedOn"):
        dataset.edit(before["Id"], "2025-01-01 00:00:00")
    with pytest.raises(KeyError):
        dataset.edit("00000000-0000-4000-8000-000000000000", "2025-03-01 00:00:00")
