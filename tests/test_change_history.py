"""Change history entries are read as documented and as served flat; none is dropped silently.

The documented entry below is the example of "Get Activity Change History" as the
documentation (and API_NOTES) gives it, truncated GUIDs and all: the reader must take it as
it is. The HTTP path (the hook against the sandbox's two shapes) is in tests/hooks.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

import pytest

from airflow_provider_leadact.change_history import ChangeEntry, read_change_entry
from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.listing import ListingProfile, iter_change_history, list_changed
from airflow_provider_leadact.validation import Window

#: The documented example entry, as the documentation gives it (the rest of it is cut off).
DOCUMENTED = {
    "Activity": {
        "ProspectActivityId": "54df288a-...",
        "RelatedProspectId": "93553424-...",
        "ActivityType": "2",
        "ActivityEvent": "322",
        "Score": "2",
        "CreatedOn": "2018-09-14 10:45:00",
        "CreatedBy": "c7b539c1-...",
    }
}
#: An entry in the flat shape the sandbox serves under ``changes_shape="flat"``.
FLAT = {
    "ActivityId": "5C92870F-A337-458F-8BE1-0E2458513051",
    "RelatedProspectId": "3A6D5EA2-400E-4A2F-A728-FBFA0B0C1DDF",
    "ActivityEvent": 164,
    "CreatedOn": "2018-11-28 06:41:00",
    "ModifiedOn": "2018-11-28 03:49:51",
    "ModifiedByName": "Mangesh V. Devikar",
    "OldValue": {"ActivityScore": 0},
    "NewValue": {"ActivityScore": 1},
}
WHAT = "Get Activity Change History (RetrieveActivityChange) for [2018-09-14 00:00:00, 2018-09-15 00:00:00)"


def documented(**top: Any) -> dict[str, Any]:
    entry = copy.deepcopy(DOCUMENTED)
    entry.update(top)
    return entry


def test_the_documented_example_as_documented() -> None:
    assert read_change_entry(DOCUMENTED, what=WHAT) == ChangeEntry(
        activity_id="54df288a-...",
        lead_id="93553424-...",
        event_code=322,
        # The documented part has no time of the change and no values: read as absent, not guessed.
        changed_on=None,
        created_on=datetime(2018, 9, 14, 10, 45),
        old_values=None,
        new_values=None,
    )


def test_the_flat_shape() -> None:
    assert read_change_entry(FLAT, what=WHAT) == ChangeEntry(
        activity_id="5c92870f-a337-458f-8be1-0e2458513051",
        lead_id="3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf",
        event_code=164,
        # ModifiedOn before CreatedOn, as in the documented example: taken as it comes.
        changed_on=datetime(2018, 11, 28, 3, 49, 51),
        created_on=datetime(2018, 11, 28, 6, 41),
        old_values={"ActivityScore": 0},
        new_values={"ActivityScore": 1},
    )


@pytest.mark.parametrize(
    ("extra", "nested"),
    [
        ({"ModifiedOn": "2018-09-15 08:00:00", "OldValue": {"Score": "1"}, "NewValue": {"Score": "2"}}, {}),
        ({"ChangedOn": "2018-09-15 08:00:00", "OldValues": {"Score": "1"}, "NewValues": {"Score": "2"}}, {}),
        ({"UpdatedOn": "2018-09-15T08:00:00Z", "OldData": {"Score": "1"}, "NewData": {"Score": "2"}}, {}),
        ({}, {"ModifiedDate": "2018-09-15 08:00:00", "OldValue": {"Score": "1"}, "NewValue": {"Score": "2"}}),
        ({"modifiedon": "2018-09-15 08:00:00", "oldvalue": {"Score": "1"}, "newvalue": {"Score": "2"}}, {}),
    ],
)
def test_the_change_time_and_values_where_they_may_sit(extra: dict[str, Any], nested: dict[str, Any]) -> None:
    entry = documented(**extra)
    entry["Activity"].update(nested)
    read = read_change_entry(entry, what=WHAT)
    assert read.changed_on == datetime(2018, 9, 15, 8)
    assert (read.old_values, read.new_values) == ({"Score": "1"}, {"Score": "2"})
    assert (read.activity_id, read.lead_id, read.event_code) == ("54df288a-...", "93553424-...", 322)


def test_the_entry_own_time_comes_before_the_nested_activity_time() -> None:
    entry = documented(ModifiedOn="2018-09-16 09:00:00")
    entry["Activity"]["ModifiedOn"] = "2018-09-20 00:00:00"
    assert read_change_entry(entry, what=WHAT).changed_on == datetime(2018, 9, 16, 9)


def test_a_time_field_that_is_not_a_time_is_not_taken_for_one() -> None:
    assert read_change_entry(documented(ModifiedOn="yesterday"), what=WHAT).changed_on is None
    entry = documented(ModifiedOn="", ChangedOn="2018-09-15 08:00:00")
    assert read_change_entry(entry, what=WHAT).changed_on == datetime(2018, 9, 15, 8)


def test_names_are_matched_whatever_their_case_and_ids_lower_cased() -> None:
    entry = {"Activity": {"ProspectActivityID": " 54DF288A-AAAA ", "RELATEDPROSPECTID": "93553424-BBBB"}}
    read = read_change_entry(entry, what=WHAT)
    assert (read.activity_id, read.lead_id, read.event_code) == ("54df288a-aaaa", "93553424-bbbb", None)


@pytest.mark.parametrize(("sent", "read"), [("322", 322), (" 322 ", 322), (322, 322), (322.0, 322), ("", None)])
def test_event_codes_sent_as_strings_are_integers(sent: Any, read: int | None) -> None:
    entry = documented()
    entry["Activity"]["ActivityEvent"] = sent
    assert read_change_entry(entry, what=WHAT).event_code == read


def test_an_event_code_that_is_not_a_number_is_an_error() -> None:
    entry = documented()
    entry["Activity"]["ActivityEvent"] = "Stage Change"
    with pytest.raises(LeadSquaredApiError, match=r"RetrieveActivityChange.*54df288a-\.\.\.: ActivityEvent"):
        read_change_entry(entry, what=WHAT)


@pytest.mark.parametrize("field", ["ProspectActivityId", "RelatedProspectId"])
@pytest.mark.parametrize("how", ["absent", "null", "empty", "an object"])
def test_an_entry_without_activity_or_lead_is_an_error_naming_the_field_and_window(field: str, how: str) -> None:
    entry = documented()
    if how == "absent":
        del entry["Activity"][field]
    else:
        entry["Activity"][field] = {"null": None, "empty": "  ", "an object": {"Id": "x"}}[how]
    with pytest.raises(LeadSquaredApiError) as caught:
        read_change_entry(entry, what=WHAT)
    message = str(caught.value)
    assert message.startswith(WHAT)
    assert ("activity id" if field == "ProspectActivityId" else "no lead") in message
    assert f"Activity.{field}" in message  # where it was looked for
    assert "93553424" not in message and "c7b539c1" not in message  # field names, never values


def test_a_top_level_id_of_a_nested_entry_is_not_taken_for_the_activity() -> None:
    # Beside a nested activity, "Id" may be the change's own id: an activity id must be named as one.
    entry = documented(Id="change-1")
    del entry["Activity"]["ProspectActivityId"]
    with pytest.raises(LeadSquaredApiError, match="no activity id"):
        read_change_entry(entry, what=WHAT)
    assert read_change_entry({**entry, "ActivityId": "54DF"}, what=WHAT).activity_id == "54df"


@pytest.mark.parametrize("entry", [None, "54df288a", ["Activity"]])
def test_an_entry_that_is_not_an_object_is_an_error(entry: Any) -> None:
    with pytest.raises(LeadSquaredApiError, match="not an object"):
        read_change_entry(entry, what=WHAT)


# -- through the listing (in-process: one callback per call, as the hook passes) ------------

DAY = Window.of(datetime(2018, 9, 14), datetime(2018, 9, 15))


class ChangeServer:
    """Answers "Get Activity Change History" with the given entries, all on one page."""

    def __init__(self, entries: list[Any]) -> None:
        self.entries = entries
        self.calls: list[tuple[str, str, int, int]] = []

    def fetch(self, lo: str, hi: str, page_index: int, page_size: int) -> tuple[int, list[Any]]:
        self.calls.append((lo, hi, page_index, page_size))
        page = self.entries[(page_index - 1) * page_size : page_index * page_size]
        return len(self.entries), page


def no_listing(lo: str, hi: str, column: str, page_index: int, page_size: int) -> tuple[int, list[Any]]:
    return 0, []


def entry(activity: str, lead: str, **top: Any) -> dict[str, Any]:
    made = documented(**top)
    made["Activity"].update(ProspectActivityId=activity, RelatedProspectId=lead)
    return made


def test_entries_without_a_time_are_kept_those_outside_the_window_dropped() -> None:
    server = ChangeServer(
        [
            entry("A-1", "L-1"),  # no time at all: the server chose it for the window
            entry("a-2", "l-2", ModifiedOn="2018-09-14 23:59:59"),
            entry("a-3", "l-3", ModifiedOn="2018-09-15 00:00:00"),  # ToDate is sent inclusive: not ours
            entry("a-4", "l-4", ChangedOn="2018-09-13 23:59:59"),
        ]
    )
    found = list(iter_change_history(server.fetch, DAY, page_size=100, max_pages=10))
    assert [(e.activity_id, e.lead_id) for e in found] == [("a-1", "l-1"), ("a-2", "l-2")]
    assert found[0].event_code == 322 and found[0].changed_on is None


def test_list_changed_names_the_leads_of_documented_entries() -> None:
    server = ChangeServer([entry(f"a-{n}", f"L-{n % 3}") for n in range(7)])
    changed = list_changed(no_listing, server.fetch, DAY, page_size=3, profile=ListingProfile(), max_pages=20)
    assert {lead: plan.named for lead, plan in changed.leads.items()} == {
        f"l-{k}": {f"a-{n}" for n in range(7) if n % 3 == k} for k in range(3)
    }
    # Each lead is read from the entries' CreatedOn (the documented activity's) on.
    assert changed.lead_floors() == {"l-0": "2018-09-14 10:45:00", "l-1": "2018-09-14 10:45:00",
                                     "l-2": "2018-09-14 10:45:00"}  # fmt: skip
    assert [call[2] for call in server.calls] == [1, 2, 3]  # paged by PageIndex to the total


def test_an_entry_without_lead_stops_the_listing_naming_window_and_field() -> None:
    broken = entry("a-9", "l-9")
    del broken["Activity"]["RelatedProspectId"]
    server = ChangeServer([entry("a-1", "l-1"), broken])
    with pytest.raises(LeadSquaredApiError) as caught:
        list_changed(no_listing, server.fetch, DAY, page_size=100, profile=ListingProfile(), max_pages=20)
    message = str(caught.value)
    assert "RetrieveActivityChange" in message and str(DAY) in message
    assert "Activity.RelatedProspectId" in message


def test_flat_entries_name_their_leads_too() -> None:
    day = Window.of(datetime(2018, 11, 28), datetime(2018, 11, 28) + timedelta(days=1))
    changed = list_changed(
        no_listing, ChangeServer([FLAT]).fetch, day, page_size=100, profile=ListingProfile(), max_pages=20
    )
    assert {lead: plan.named for lead, plan in changed.leads.items()} == {
        "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf": {"5c92870f-a337-458f-8be1-0e2458513051"}
    }
