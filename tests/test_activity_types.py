"""Reading the catalogue's answers: every shape the types are read from, and malformed answers
refused with the endpoint's name (the HTTP path is tested against the sandbox in tests/hooks)."""

from __future__ import annotations

from datetime import datetime

import pytest

from airflow_provider_leadact.activity_types import (
    FIELD_COLUMNS,
    TYPE_COLUMNS,
    field_rows,
    parse_catalogue,
    parse_setting,
    type_rows,
)
from airflow_provider_leadact.exceptions import LeadSquaredApiError


def test_codes_names_and_categories_under_each_name() -> None:
    types = parse_catalogue(
        [
            {"ActivityEvent": 201, "DisplayName": "Follow Up", "Name": "follow_up", "Category": "Custom", "Score": 5},
            {"EventCode": "22", "EventName": "Stage Change", "Category": "System"},
            {"Code": 2000, "ActivityEventName": "Payment"},
            {"ActivityEvent": 13, "Name": "Email Link Clicked"},
            {"ActivityEvent": 300, "DisplayName": "Flagged", "IsCustom": False, "Category": "Custom"},
            {"ActivityEvent": 201, "DisplayName": "listed twice"},
        ]
    )
    assert [(t["event_code"], t["event_name"], t["category"], t["is_custom"]) for t in types] == [
        (201, "Follow Up", "Custom", True),
        (22, "Stage Change", "System", False),
        (2000, "Payment", None, True),  # no category: LeadSquared's own codes are below 100
        (13, "Email Link Clicked", None, False),
        (300, "Flagged", "Custom", False),  # an explicit flag wins
    ]
    # What the columns do not hold is kept, the other name included; nothing is dropped.
    assert types[0]["details"] == {"Name": "follow_up", "Score": 5}
    assert all(t["fields"] == [] for t in types)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"Types": []}, "answered a JSON object (keys: Types), not a list of activity types"),
        ("<html>", "answered a JSON string, not a list"),
        (None, "answered null, not a list"),
        ([{"ActivityEvent": 1}, "x"], "entry 1 is a JSON string, not an activity type"),
        ([{"DisplayName": "No code"}], "entry 0 has no integer event code under ActivityEvent or EventCode or Code"),
        ([{"ActivityEvent": True}], "entry 0 has no integer event code"),
        ([{"ActivityEvent": "20 1"}], "entry 0 has no integer event code"),
    ],
)
def test_a_malformed_catalogue_is_an_error_naming_the_endpoint(payload, words: str) -> None:
    with pytest.raises(LeadSquaredApiError) as caught:
        parse_catalogue(payload)
    message = str(caught.value)
    assert message.startswith("ActivityTypes.Get (GET /v2/ProspectActivity.svc/ActivityTypes.Get)")
    assert words in message


def test_fields_and_both_shapes_of_an_option_set() -> None:
    options = [{"Text": "High", "Value": "H"}]
    fields = parse_setting(
        {
            "Fields": [
                {"SchemaName": "mx_Custom_1", "DisplayName": "When", "DataType": "DateTime", "IsMandatory": True},
                {"SchemaName": "mx_Custom_2", "DisplayName": "Priority", "DataType": "Dropdown", "OptionSet": options},
                {"SchemaName": "mx_Custom_3", "OptionSet": '[{"Text":"High","Value":"H"}]', "IsMandatory": "false"},
                {"SchemaName": "mx_Custom_4", "OptionSet": "", "IsMandatory": None},
                {"SchemaName": "mx_Custom_5", "OptionSet": "Red;Green"},
            ]
        },
        201,
    )
    assert fields == [
        {
            "schema_name": "mx_Custom_1",
            "display_name": "When",
            "data_type": "DateTime",
            "is_mandatory": True,
            "option_set": None,
        },
        {
            "schema_name": "mx_Custom_2",
            "display_name": "Priority",
            "data_type": "Dropdown",
            "is_mandatory": None,
            "option_set": options,
        },
        {
            "schema_name": "mx_Custom_3",
            "display_name": None,
            "data_type": None,
            "is_mandatory": False,
            "option_set": options,
        },
        {
            "schema_name": "mx_Custom_4",
            "display_name": None,
            "data_type": None,
            "is_mandatory": None,
            "option_set": None,
        },
        {
            "schema_name": "mx_Custom_5",
            "display_name": None,
            "data_type": None,
            "is_mandatory": None,
            "option_set": "Red;Green",  # kept as sent: not JSON
        },
    ]
    assert parse_setting({"ID": "x", "Fields": None}, 201) == []


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"Fields": {"mx_Custom_1": {}}}, "Fields is not a list of fields"),
        ([], "answered a JSON array: Fields is not a list"),
        ({"Fields": [{"DisplayName": "Notes"}]}, "field 0 has no SchemaName"),
        ({"Fields": [{"SchemaName": ""}]}, "field 0 has no SchemaName"),
    ],
)
def test_a_malformed_setting_is_an_error_naming_the_endpoint_and_code(payload, words: str) -> None:
    with pytest.raises(LeadSquaredApiError) as caught:
        parse_setting(payload, 201)
    message = str(caught.value)
    assert message.startswith(
        "GetActivitySetting (GET /v2/ProspectActivity.svc/CustomActivity/GetActivitySetting?code=201)"
    )
    assert words in message


def test_rows_have_the_declared_columns() -> None:
    types = parse_catalogue([{"ActivityEvent": 201, "DisplayName": "Follow Up"}, {"ActivityEvent": 12}])
    types[0]["fields"] = parse_setting({"Fields": [{"SchemaName": "mx_Custom_3", "DisplayName": "Notes"}]}, 201)
    stamp = datetime(2025, 1, 6, 2, 0, 0)
    rows = type_rows(types, stamp)
    assert [list(row) for row in rows] == [[c.name for c in TYPE_COLUMNS]] * 2
    assert rows[1] == {
        "event_code": 12,
        "event_name": None,
        "category": None,
        "is_custom": False,
        "details": {},
        "refreshed_at": stamp,
    }
    fields = field_rows(types, stamp)
    assert [list(row) for row in fields] == [[c.name for c in FIELD_COLUMNS]]
    assert fields[0]["event_code"] == 201 and fields[0]["display_name"] == "Notes"


def test_the_readme_lists_the_declared_columns_in_order() -> None:
    # The README's description of the two tables is a hand-written copy of the declarations.
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    start = readme.index("- `leadsquared_activity_types`, one row per event code")
    types, fields = readme[start : readme.index("- Two tables, not one", start)].split(
        "- `leadsquared_activity_type_fields`, one row"
    )
    assert re.findall(r"`([a-z_]+)`", types)[1:] == [column.name for column in TYPE_COLUMNS]
    assert re.findall(r"`([a-z_]+)`", fields) == [column.name for column in FIELD_COLUMNS]
