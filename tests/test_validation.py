"""Bad input is refused clearly before any call."""

from __future__ import annotations

import uuid

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.validation import (
    LeadIds,
    normalize_lead_ids,
    parse_lead_ids,
    validate_activity_event,
    validate_lead_id,
)

A = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"
B = "5c92870f-a337-458f-8be1-0e2458513051"


@pytest.mark.parametrize(
    "value",
    [[A, B], [A, [B, [A]]], f"{A},{B}", f"{A}\n{B}\n", f" {A} ; {B} ", (A, B), [[A], [B, A.upper()]]],
)
def test_accepted_shapes_normalize_in_first_seen_order(value):
    assert normalize_lead_ids(value) == [A, B]


def test_single_id():
    assert normalize_lead_ids(A) == [A]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "lead_ids is None"),
        ([], "no lead ids"),
        ("", "no lead ids"),
        ("  \n", "no lead ids"),
        ([None], "None"),
        ([A, ""], "''"),
        ([A, "   "], "'   '"),
        ([A, "not-a-guid"], "not-a-guid"),
        ([A, 42], "42"),
        ({"lead": A}, "mapping"),
        ([A, {"x": 1}], "mapping"),
    ],
)
def test_bad_shapes_are_refused_naming_the_problem(value, message):
    with pytest.raises(LeadSquaredConfigError, match="lead") as info:
        normalize_lead_ids(value)
    assert message in str(info.value)


def test_error_lists_a_bounded_number_of_bad_ids():
    with pytest.raises(LeadSquaredConfigError) as info:
        normalize_lead_ids([f"bad{i}" for i in range(500)])
    text = str(info.value)
    assert "500 lead id(s)" in text and "and 490 more" in text and len(text) < 600


def test_deep_nesting_is_refused():
    value = A
    for _ in range(20):
        value = [value]
    with pytest.raises(LeadSquaredConfigError, match="nested"):
        normalize_lead_ids(value)


def test_one_hundred_thousand_ids():
    ids = [str(uuid.UUID(int=i, version=4)) for i in range(100_000)]
    assert normalize_lead_ids(ids + ids[:10]) == ids


def test_validate_lead_id():
    assert validate_lead_id(f"  {A.upper()} ") == A
    for bad in (None, "", "  ", "x", A + "0", 5):
        with pytest.raises(LeadSquaredConfigError):
            validate_lead_id(bad)


def test_activity_event():
    assert validate_activity_event(None) is None
    assert validate_activity_event("") is None
    assert validate_activity_event(201) == 201
    assert validate_activity_event(" 201 ") == 201
    for bad in ("abc", 2.5, True, [201], "20 1"):
        with pytest.raises(LeadSquaredConfigError, match="integer"):
            validate_activity_event(bad)


def test_validated_ids_are_not_validated_again(monkeypatch):
    ids = normalize_lead_ids([A, B])
    assert isinstance(ids, LeadIds)
    calls = []
    monkeypatch.setattr("airflow_provider_leadact.validation.validate_lead_id", lambda v: calls.append(v) or v)
    assert normalize_lead_ids(ids) is ids and parse_lead_ids(ids) is ids
    assert calls == []


@pytest.mark.parametrize("text", [f"['{A}', '{B}']", f'["{A}", "{B}"]'])
def test_a_list_rendered_as_text_is_read_back(text):
    assert parse_lead_ids(text) == [A, B]
