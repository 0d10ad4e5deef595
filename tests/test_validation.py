"""Bad input is refused clearly before any call."""

from __future__ import annotations

import json
import uuid

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.validation import (
    EventCode,
    FetchPlan,
    LeadIds,
    Window,
    normalize_lead_ids,
    optional_window,
    parse_fetch_plan,
    parse_lead_ids,
    plan_leads,
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


def test_an_event_code_is_checked_once_and_stays_an_int():
    event = validate_activity_event(" 201 ")
    assert isinstance(event, EventCode) and event == 201
    assert validate_activity_event(event) is event
    # In a request body and in XCom it is the plain number.
    assert json.dumps({"ActivityEvent": event}) == '{"ActivityEvent": 201}'


FLOOR = "2025-01-03 10:00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # LeadSquaredChangedLeadsOperator's batch: {lead id: floor}, floors API times or None.
        ({A: FLOOR, B.upper(): None}, {A: FLOOR, B: None}),
        # LeadSquaredRecentlyModifiedLeadsOperator's batch: a list of ids, no floors.
        ([A, B], {A: None, B: None}),
        (f"{A},{B}", {A: None, B: None}),
    ],
)
def test_a_fetch_plan_reads_both_xcom_shapes(value, expected):
    plan = parse_fetch_plan(value, floors=True)
    assert isinstance(plan, FetchPlan) and plan == expected and list(plan) == list(expected)
    # What XCom stores (JSON) reads back to the same plan.
    assert parse_fetch_plan(json.loads(json.dumps(value)), floors=True) == expected
    assert parse_fetch_plan(plan, floors=True) is plan


def test_a_fetch_plan_refuses_a_mapping_without_a_window_and_bad_floors():
    with pytest.raises(LeadSquaredConfigError, match="got a mapping"):
        parse_fetch_plan({A: FLOOR}, floors=False)
    with pytest.raises(LeadSquaredConfigError, match="floor 'yesterday' is not an API time"):
        parse_fetch_plan({A: "yesterday"}, floors=True)
    with pytest.raises(LeadSquaredConfigError, match="are not valid: 'nope'"):
        parse_fetch_plan({"nope": FLOOR}, floors=True)


def test_plan_leads_takes_floors_by_any_case_and_ignores_other_leads():
    plan = plan_leads([A], {A.upper(): FLOOR, B: FLOOR})
    assert plan == {A: FLOOR}


def test_an_optional_window_needs_both_bounds_or_neither():
    assert optional_window(None, None) is None
    window = optional_window("2025-01-03", "2025-01-04")
    assert isinstance(window, Window) and str(window) == "[2025-01-03 00:00:00, 2025-01-04 00:00:00)"
    with pytest.raises(LeadSquaredConfigError, match="changed_to is missing: give both changed_from and changed_to"):
        optional_window("2025-01-03", None)
