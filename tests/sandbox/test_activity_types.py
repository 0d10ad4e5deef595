"""The activity type endpoints over real HTTP: the catalogue, one type's fields, errors and the
steps every API call passes; and the catalogue's agreement with the generated data."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import requests

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.activity_types import CATALOGUE, CUSTOM, SETTING_PATH, TYPES_PATH, type_spec
from airflow_provider_leadact.sandbox.data import EVENT_NAMES, TIME_FORMAT
from tests.support.sandbox import Client


def get(client: Client, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("headers", client.headers)
    return client.session.get(client.url(path), timeout=10, **kwargs)


def assert_mx_error(response: requests.Response, status: int, exception_type: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["Status"] == "Error" and body["ExceptionType"] == exception_type
    return body["ExceptionMessage"]


def options_of(option_set: Any) -> list[str]:
    listed = json.loads(option_set) if isinstance(option_set, str) else option_set
    return [option["Value"] for option in listed]


def test_the_catalogue_lists_every_event_code_of_the_data_under_its_name(client: Client, sandbox: Sandbox) -> None:
    response = get(client, TYPES_PATH)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    types = response.json()
    assert isinstance(types, list)
    names = {item["ActivityEvent"]: item["DisplayName"] for item in types}
    used = {activity["EventCode"] for activity in sandbox.dataset.activities()}
    assert used == set(EVENT_NAMES)
    assert {code: names[code] for code in used} == EVENT_NAMES
    # Types nobody has logged yet are listed too, as in a real account.
    assert set(names) - used == {215, 216}
    categories = {item["ActivityEvent"]: item["Category"] for item in types}
    assert {code for code, category in categories.items() if category == "System"} == {12, 21, 22}


def test_a_follow_up_type_describes_its_custom_fields(client: Client) -> None:
    response = get(client, SETTING_PATH, params={"code": "201"})
    assert response.status_code == 200, response.text
    setting = response.json()
    assert setting["DisplayName"] == "Follow Up Scheduled"
    fields = {field["SchemaName"]: field for field in setting["Fields"]}
    assert list(fields) == ["mx_Custom_1", "mx_Custom_2", "mx_Custom_3", "mx_Custom_4"]
    assert fields["mx_Custom_1"]["DataType"] == "DateTime" and fields["mx_Custom_1"]["IsMandatory"] is True
    assert fields["mx_Custom_2"]["DataType"] == "Dropdown"
    assert options_of(fields["mx_Custom_2"]["OptionSet"]) == ["High", "Medium", "Low"]
    assert fields["mx_Custom_3"] | {"OptionSet": None} == {
        "SchemaName": "mx_Custom_3",
        "DisplayName": "Follow-up Notes",
        "Value": None,
        "DataType": "String",
        "IsMandatory": False,
        "ShowInForm": True,
        "Sequence": 3,
        "OptionSet": None,
    }
    assert fields["mx_Custom_3"]["OptionSet"] == ""  # as documented for a field without options
    # A payment's currency dropdown comes JSON-encoded in a string: the other shape a client must read.
    payment = {f["SchemaName"]: f for f in get(client, SETTING_PATH, params={"code": 2000}).json()["Fields"]}
    assert isinstance(payment["mx_Custom_2"]["OptionSet"], str)
    assert options_of(payment["mx_Custom_2"]["OptionSet"]) == ["INR", "SGD", "EUR", "CAD"]


def test_a_system_type_has_no_custom_fields(client: Client) -> None:
    setting = get(client, SETTING_PATH, params={"code": 22}).json()
    assert setting["DisplayName"] == "Stage Change" and setting["Fields"] == []


@pytest.mark.parametrize(
    ("params", "words"),
    [({"code": "999"}, "No activity type with code 999"), ({}, "code is required"), ({"code": "abc"}, "integer")],
)
def test_an_unknown_or_missing_code_answers_the_api_error_shape(client: Client, params, words: str) -> None:
    message = assert_mx_error(get(client, SETTING_PATH, params=params), 400, "MXInvalidInputException")
    assert words in message


def test_every_custom_field_the_data_holds_is_declared_for_its_type(sandbox: Sandbox) -> None:
    checked = 0
    for activity in sandbox.dataset.activities():
        spec = type_spec(activity["EventCode"])
        assert spec is not None
        declared = {field.schema_name: field for field in spec.fields}
        for key, value in activity["ActivityFields"].items():
            if not key.startswith("mx_Custom_") or value is None:
                continue
            field = declared[key]  # a value under an undeclared field would mean nothing to an analyst
            checked += 1
            if field.options is not None:
                assert value in field.options
            elif field.data_type == "DateTime":
                datetime.strptime(value, TIME_FORMAT)
            elif field.data_type == "Number":
                float(value)
            elif field.data_type == "CustomObject":
                assert isinstance(json.loads(value), dict)
    assert checked > 1000
    assert all(spec.fields for spec in CATALOGUE if spec.category == CUSTOM and spec.code in EVENT_NAMES)


def test_the_endpoints_pass_the_steps_of_every_api_call(client: Client, sandbox: Sandbox) -> None:
    assert_mx_error(get(client, TYPES_PATH, headers={}), 401, "MXUnAuthorizedException")
    assert_mx_error(client.post(TYPES_PATH, {}), 405, "MXMethodNotAllowedException")
    sandbox.inject_faults("503", 1)
    assert get(client, SETTING_PATH, params={"code": 201}).status_code == 503
    sandbox.configure(rate_limit_calls=2, rate_limit_period=60)
    sandbox.reset_rate_limit()
    assert [get(client, TYPES_PATH).status_code for _ in range(3)] == [200, 200, 429]
    stats = sandbox.stats()
    assert stats["by_endpoint"] == {TYPES_PATH: 5, SETTING_PATH: 1}
    assert stats["unauthorized"] == 1 and stats["rate_limited"] == 1
