"""``LeadSquaredHook.get_activity_types`` against the sandbox over HTTP: the exact catalogue, the
calls it costs, the budget and retries, malformed answers and codes without settings."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredApiError, LeadSquaredAuthError
from airflow_provider_leadact.sandbox.activity_types import SETTING_PATH, TYPES_PATH
from tests.support.proxies import RewritingProxy
from tests.support.truth import activity_types_truth

CUSTOM_TYPES = sum(1 for item in activity_types_truth().values() if item["is_custom"])


def log_lines(capfd, caplog) -> list[str]:
    """What the hook logged: Airflow's task logger prints (structlog); plain logging is captured."""
    captured = capfd.readouterr()
    return [*(captured.out + captured.err).splitlines(), *(r.getMessage() for r in caplog.records)]


def as_truth(types: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """What the hook returned, in the shape of :func:`activity_types_truth`."""

    def options(option_set: Any) -> list[str] | None:
        return None if option_set is None else [option["Value"] for option in option_set]

    by_code = {
        item["event_code"]: {
            "event_name": item["event_name"],
            "category": item["category"],
            "is_custom": item["is_custom"],
            "fields": {
                field["schema_name"]: {
                    "display_name": field["display_name"],
                    "data_type": field["data_type"],
                    "is_mandatory": field["is_mandatory"],
                    "options": options(field["option_set"]),
                }
                for field in item["fields"]
            },
        }
        for item in types
    }
    assert len(by_code) == len(types)
    return by_code


def test_the_catalogue_and_every_custom_types_fields(sandbox, make_hook) -> None:
    hook = make_hook(sandbox)
    types = hook.get_activity_types()
    assert as_truth(types) == activity_types_truth()
    assert [item["event_code"] for item in types][:3] == [12, 21, 22]  # the catalogue's order
    assert types[4]["details"]["Score"] == 5  # what the columns do not hold is kept
    # One call for the catalogue, one per custom type; none for a system type.
    assert sandbox.stats()["by_endpoint"] == {TYPES_PATH: 1, SETTING_PATH: CUSTOM_TYPES}
    assert hook.stats["calls"] == 1 + CUSTOM_TYPES


def test_under_the_budget_with_faults_retried(make_sandbox, make_hook) -> None:
    sandbox = make_sandbox(rate_limit_calls=3, rate_limit_period=1.0)
    sandbox.inject_faults("503", 1)
    sandbox.inject_faults("truncated", 1)
    sandbox.inject_faults("500", 1)
    hook = make_hook(sandbox, rate_limit_calls=3, rate_limit_period_seconds=1, retry_wait_seconds=0.01)
    assert as_truth(hook.get_activity_types()) == activity_types_truth()
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0 and stats["max_in_window"] <= 3
    assert hook.stats["retries"] == 3 and hook.stats["calls"] == 1 + CUSTOM_TYPES + 3


def test_wrong_keys_are_an_error(sandbox, make_hook) -> None:
    with pytest.raises(LeadSquaredAuthError, match="refused the keys"):
        make_hook(sandbox, password="not-the-secret-key").get_activity_types()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'{"ActivityTypes": []}', "answered a JSON object (keys: ActivityTypes), not a list of activity types"),
        (b'[{"DisplayName": "Follow Up"}]', "entry 0 has no integer event code"),
    ],
)
def test_an_unreadable_catalogue_is_an_error_naming_the_endpoint(sandbox, make_hook, body: bytes, words) -> None:
    def rewrite(path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        return (status, body) if path == TYPES_PATH else (status, payload)

    with RewritingProxy(sandbox.url, rewrite) as proxy:
        hook = make_hook(sandbox, host=proxy.url)
        with pytest.raises(LeadSquaredApiError) as caught:
            hook.get_activity_types()
    message = str(caught.value)
    assert message.startswith(f"ActivityTypes.Get (GET {TYPES_PATH})") and words in message
    assert sandbox.config.access_key not in message and sandbox.config.secret_key not in message
    assert proxy.paths == {TYPES_PATH: 1}  # not retried, and no type's fields asked for


def test_an_unreadable_setting_is_an_error_naming_the_endpoint_and_code(sandbox, make_hook) -> None:
    def rewrite(path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        if path == SETTING_PATH and json.loads(payload)["DisplayName"] == "Follow Up Scheduled":
            return status, b'{"ID": "x", "Fields": {"mx_Custom_1": "Follow-up Date"}}'
        return status, payload

    with RewritingProxy(sandbox.url, rewrite) as proxy:
        with pytest.raises(LeadSquaredApiError) as caught:
            make_hook(sandbox, host=proxy.url).get_activity_types()
    assert str(caught.value).startswith(f"GetActivitySetting (GET {SETTING_PATH}?code=201)")
    assert "Fields is not a list of fields" in str(caught.value)


def test_a_listed_code_without_settings_is_not_an_error(sandbox, make_hook, caplog, capfd) -> None:
    # Listed by the catalogue, unknown to the settings endpoint: deleted between the two calls.
    gone = {"ActivityEvent": 777, "DisplayName": "Deleted since", "Category": "Custom"}

    def rewrite(path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        if path == TYPES_PATH:
            return status, json.dumps([*json.loads(payload), gone]).encode()
        return status, payload

    with RewritingProxy(sandbox.url, rewrite) as proxy, caplog.at_level(logging.WARNING):
        types = make_hook(sandbox, host=proxy.url).get_activity_types()
    by_code = as_truth(types)
    assert by_code.pop(777) == {"event_name": "Deleted since", "category": "Custom", "is_custom": True, "fields": {}}
    assert by_code == activity_types_truth()
    assert sandbox.stats()["by_status"]["400"] == 1  # the sandbox's own answer for an unknown code
    warned = [line for line in log_lines(capfd, caplog) if "Activity type 777 is in the catalogue" in line]
    assert len(warned) == 1 and "No activity type with code 777" in warned[0] and "kept without fields" in warned[0]
