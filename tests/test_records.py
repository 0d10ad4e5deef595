"""Flattening: the record every sink writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.records import COLUMNS, flatten_activity, has_activity_fields, parse_note, snake_case
from tests.support.examples import DOCUMENTED_ACTIVITY, LEAD, activity, numbers_as_strings


def test_documented_example_flattens_to_snake_case_columns():
    record = flatten_activity(activity(), LEAD)
    assert tuple(record) == COLUMNS
    assert record["id"] == "c310391d-6784-418b-b61c-bca2d0a7a645"
    assert record["lead_id"] == LEAD
    assert record["related_prospect_id"] == LEAD
    assert record["created_on"] == "2018-12-12 10:36:00"
    assert record["is_email_type"] is False
    assert record["data"] == {"CreatedByName": "Mangesh V. Devikar", "HasAttachments": "False"}
    assert record["activity_fields"]["mx_Custom_1"] == {"mx_CustomObject_1": "bf71914e.png", "Status": ""}
    assert record["activity_fields"]["Status"] == "Active"
    assert record["note"] is None
    assert record["extra"] == {}


def test_data_as_plain_object_is_accepted():
    record = flatten_activity(activity(Data={"PreviousStage": "Prospect", "CurrentStage": "Customer"}), LEAD)
    assert record["data"] == {"PreviousStage": "Prospect", "CurrentStage": "Customer"}


def test_call_note_is_parsed_and_raw_note_kept():
    note = "Status{=}Answered{next}Duration{=}120{next}Notes{=}called back, said “ok” 🙂"
    record = flatten_activity(activity(ActivityFields={"ActivityEvent_Note": note}), LEAD)
    assert record["note"] == {"Status": "Answered", "Duration": "120", "Notes": "called back, said “ok” 🙂"}
    assert record["activity_fields"]["ActivityEvent_Note"] == note


def test_plain_strings_that_look_like_scalars_are_not_decoded():
    record = flatten_activity(activity(ActivityFields={"a": "123", "b": "true", "c": "{not json}", "d": None}), LEAD)
    assert record["activity_fields"] == {"a": "123", "b": "true", "c": "{not json}", "d": None}


def test_unknown_top_level_fields_are_kept_in_extra():
    record = flatten_activity(activity(NewFieldFromApi=5), LEAD)
    assert record["extra"] == {"new_field_from_api": 5}


def test_snake_case():
    assert snake_case("RelatedProspectId") == "related_prospect_id"
    assert snake_case("IsEmailType") == "is_email_type"
    assert snake_case("HTTPStatus") == "http_status"


def test_parse_note_without_separators_is_none():
    assert parse_note("just a note") is None
    assert parse_note(None) is None


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text())
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.lists(st.fixed_dictionaries({"Key": st.text(max_size=12), "Value": json_values}), max_size=6),
        st.dictionaries(st.text(max_size=12), json_values, max_size=6),
    ),
    fields=st.dictionaries(st.text(max_size=12), st.one_of(json_values, json_values.map(json.dumps)), max_size=6),
)
def test_any_content_round_trips_through_json_without_loss(data, fields):
    record = flatten_activity(activity(Data=data, ActivityFields=fields), LEAD)
    again = json.loads(json.dumps(record, ensure_ascii=False))
    assert again == record
    # Nothing dropped: every Data pair and every field is present with its value.
    if isinstance(data, list):
        expected = {}
        for pair in data:
            expected[pair["Key"]] = pair["Value"]
        assert record["data"] == expected
    else:
        assert record["data"] == data
    assert set(record["activity_fields"]) == set(fields)
    for key, value in fields.items():
        decoded = record["activity_fields"][key]
        if decoded != value:  # decoded from a JSON string: re-encoding gives the same value
            assert json.loads(value) == decoded


def test_the_readme_lists_the_declared_columns_in_order() -> None:
    # The README's description of the table is a hand-written copy of RECORD_COLUMNS.
    import re
    from pathlib import Path

    from airflow_provider_leadact.records import RECORD_COLUMNS

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    described = readme[readme.index("`records.RECORD_COLUMNS`:") : readme.index("Rows are upserted by `id`")]
    assert re.findall(r"`([a-z_]+)`", described) == [column.name for column in RECORD_COLUMNS]


# -- one activity, any shape --------------------------------------------------------------


def in_shape(source: dict[str, Any], shape: str) -> dict[str, Any]:
    """The activity as the listing may send it: its custom fields elsewhere than ActivityFields."""
    fields = source["ActivityFields"]
    if shape == "activity_fields":
        return source
    if shape == "top_level":
        custom = {k: v for k, v in fields.items() if k.startswith("mx_")}
        return {**source, "ActivityFields": {k: v for k, v in fields.items() if k not in custom}, **custom}
    rest = {k: v for k, v in source.items() if k != "ActivityFields"}
    return {**rest, "Fields": [{"Key": k, "Value": v} for k, v in fields.items()]}


@pytest.mark.parametrize("shape", ["activity_fields", "top_level", "fields_list"])
@pytest.mark.parametrize("numbers", [False, True])
def test_every_shape_gives_the_documented_record(shape: str, numbers: bool) -> None:
    expected = flatten_activity(DOCUMENTED_ACTIVITY, LEAD)
    source = numbers_as_strings(DOCUMENTED_ACTIVITY) if numbers else DOCUMENTED_ACTIVITY
    record = flatten_activity(in_shape(source, shape), LEAD)
    assert json.dumps(record, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert record["extra"] == {}  # neither mx_ keys nor the Fields list are unknown fields
    assert record["activity_fields"]["mx_Custom_1"]["ModifiedOn"] == "2018-12-12 10:39:21"  # decoded in every shape


def test_the_declared_types_of_numbers_and_flags() -> None:
    record = flatten_activity(numbers_as_strings(DOCUMENTED_ACTIVITY), LEAD)
    assert (record["event_code"], record["activity_score"], record["activity_type"], record["track_location"]) == (
        164, 0, 2, 0,
    )  # fmt: skip
    assert type(record["event_code"]) is int and type(record["latitude"]) is float
    assert record["is_email_type"] is False
    assert flatten_activity(activity(EventCode="322", Latitude="12.5", IsEmailType="true"), LEAD)["latitude"] == 12.5
    assert flatten_activity(activity(ActivityScore="", TrackLocation=None), LEAD)["activity_score"] is None


@pytest.mark.parametrize(
    ("field", "value"), [("EventCode", "Stage Change"), ("ActivityScore", "2.5"), ("IsEmailType", "maybe")]
)
def test_a_number_that_is_not_one_fails_naming_activity_lead_and_field(field: str, value: str) -> None:
    with pytest.raises(LeadSquaredError) as caught:
        flatten_activity(activity(**{field: value}), LEAD)
    message = str(caught.value)
    assert "c310391d-6784-418b-b61c-bca2d0a7a645" in message and LEAD in message and field in message


def test_activity_fields_win_over_the_other_shapes_when_they_disagree() -> None:
    record = flatten_activity(
        activity(
            ActivityFields={"mx_Custom_2": "from ActivityFields"},
            Fields=[{"Key": "mx_Custom_2", "Value": "from Fields"}, {"Key": "mx_Custom_3", "Value": "from Fields"}],
            mx_Custom_3="top level",
            mx_Custom_4="top level",
        ),
        LEAD,
    )
    assert record["activity_fields"] == {
        "mx_Custom_2": "from ActivityFields",
        "mx_Custom_3": "from Fields",
        "mx_Custom_4": "top level",
    }


def test_a_fields_list_with_odd_items_loses_nothing() -> None:
    record = flatten_activity(activity(ActivityFields=None, Fields=[{"Key": "Status", "Value": "x"}, "loose"]), LEAD)
    assert record["activity_fields"] == {"Status": "x", "_1": "loose"}


def test_which_rows_carry_the_activity_fields() -> None:
    assert has_activity_fields({"ActivityFields": {}})
    assert has_activity_fields({"Fields": []})
    assert has_activity_fields({"Id": "x", "mx_Custom_1": None})
    assert not has_activity_fields({"Id": "x", "Data": [], "MxCustom": 1})
