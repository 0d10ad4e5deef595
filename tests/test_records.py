"""Flattening: the record every sink writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.records import COLUMNS, flatten_activity, parse_note, snake_case
from tests.support.examples import LEAD, activity


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
