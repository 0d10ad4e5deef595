"""The account's limits and region: the stated rate limit, the daily call cap, the region host."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.api import ACTIVITIES_PATH, LEADS_PATH, USER_PATH
from airflow_provider_leadact.sandbox.date_range import CHANGES_PATH, RANGE_PATH
from tests.support.sandbox import Client

UNKNOWN_LEAD = "00000000-0000-4000-8000-000000000000"
WINDOW = {"Parameter": {"FromDate": "2025-01-03 00:00:00", "ToDate": "2025-01-03 23:59:59"}}


@pytest.mark.parametrize(("style", "status"), [("429", 429), ("200", 200)])
@pytest.mark.parametrize(
    ("calls", "period", "stated"), [(10, 5.0, "10 in 5"), (5, 5.0, "5 in 5"), (2, 1.5, "2 in 1.5")]
)
def test_rate_limit_message_states_the_configured_limit(
    client: Client, sandbox: Sandbox, style: str, status: int, calls: int, period: float, stated: str
) -> None:
    sandbox.configure(rate_limit_calls=calls, rate_limit_period=period, rate_limit_style=style)
    answers = [client.user() for _ in range(calls + 1)]
    assert [answer.status_code for answer in answers[:calls]] == [200] * calls
    assert answers[-1].status_code == status
    assert answers[-1].json() == {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": f"API calls exceeded the limit of {stated} second(s)",
    }


@pytest.mark.parametrize(("style", "status"), [("429", 429), ("200", 200)])
def test_daily_call_cap(client: Client, sandbox: Sandbox, style: str, status: int) -> None:
    sandbox.configure(daily_call_cap=4, rate_limit_style=style)
    assert client.user(headers={}).status_code == 401  # refused calls do not count
    assert client.activities(UNKNOWN_LEAD).status_code == 200
    assert client.post(RANGE_PATH, WINDOW).status_code == 200
    assert client.post(CHANGES_PATH, WINDOW).status_code == 200
    assert client.leads(WINDOW).status_code == 200
    for _ in range(3):
        over = client.user()
        assert over.status_code == status
        assert over.json() == {
            "Status": "Error",
            "ExceptionType": "MXAPIDailyLimitExceededException",
            "ExceptionMessage": "API calls exceeded the daily limit of 4 calls",
        }
    stats = sandbox.stats()
    assert stats["accepted"] == 4 and stats["calls_today"] == 4 and stats["daily_limited"] == 3
    assert stats["rate_limited"] == 0
    # Raising the cap lets calls through again; the day's count is kept.
    sandbox.configure(daily_call_cap=5)
    assert client.user().status_code == 200
    assert client.user().status_code == status
    sandbox.configure(daily_call_cap=None)
    assert client.user().status_code == 200
    assert sandbox.stats()["calls_today"] == 6


def test_daily_cap_is_per_access_key_and_checked_before_the_rate_limit(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(daily_call_cap=2, rate_limit_calls=2, rate_limit_period=30.0)
    assert [client.user().status_code for _ in range(3)] == [200, 200, 429]
    assert client.user().json()["ExceptionType"] == "MXAPIDailyLimitExceededException"
    sandbox.configure(access_key="another-account-key")
    other = {"x-LSQ-AccessKey": "another-account-key", "x-LSQ-SecretKey": sandbox.config.secret_key}
    assert client.user(headers=other).status_code == 200  # another account's own day


def test_daily_cap_zero_refuses_everything(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(daily_call_cap=0)
    assert client.user().json()["ExceptionMessage"] == "API calls exceeded the daily limit of 0 calls"


def test_user_by_access_key_has_the_documented_fields(client: Client, sandbox: Sandbox) -> None:
    user = client.user().json()
    assert {
        "Id",
        "FirstName",
        "LastName",
        "EmailAddress",
        "Role",
        "TimeZone",
        "OrgId",
        "OrgShortCode",
        "OrgDisplayName",
        "Plan",
        "LSQCommonServiceURLs",
    } <= set(user)
    assert user["LSQCommonServiceURLs"] == {"api": sandbox.url, "app": sandbox.url}


def region_call(sandbox: Sandbox, host: str, path: str, method: str = "POST", body: Any = None) -> requests.Response:
    keys = {"x-LSQ-AccessKey": sandbox.config.access_key, "x-LSQ-SecretKey": sandbox.config.secret_key}
    url = f"http://{host}:{sandbox.port}{path}"
    params = {"leadId": UNKNOWN_LEAD} if path == ACTIVITIES_PATH else None
    return requests.request(method, url, headers=keys, json=body, params=params, timeout=10)


@pytest.mark.parametrize("path", [ACTIVITIES_PATH, LEADS_PATH, RANGE_PATH, CHANGES_PATH])
def test_another_region_host_answers_401_but_names_the_right_one(sandbox: Sandbox, path: str) -> None:
    sandbox.configure(account_host="localhost")
    wrong = region_call(sandbox, "127.0.0.1", path, body=WINDOW)
    assert wrong.status_code == 401
    assert wrong.json()["ExceptionType"] == "MXUnAuthorizedException"
    user = region_call(sandbox, "127.0.0.1", USER_PATH, method="GET")
    assert user.status_code == 200
    api_url = user.json()["LSQCommonServiceURLs"]["api"]
    assert api_url == f"http://localhost:{sandbox.port}" == sandbox.account_url
    right = requests.post(
        api_url + path,
        headers={"x-LSQ-AccessKey": sandbox.config.access_key, "x-LSQ-SecretKey": sandbox.config.secret_key},
        params={"leadId": UNKNOWN_LEAD} if path == ACTIVITIES_PATH else None,
        json=WINDOW,
        timeout=10,
    )
    assert right.status_code == 200
    stats = sandbox.stats()
    assert stats["wrong_host"] == 1 and stats["unauthorized"] == 1 and stats["accepted"] == 2


def test_user_by_access_key_on_any_host_still_needs_the_keys(sandbox: Sandbox) -> None:
    sandbox.configure(account_host="localhost")
    response = requests.get(f"http://127.0.0.1:{sandbox.port}{USER_PATH}", timeout=10)
    assert response.status_code == 401


def test_connection_json_names_the_account_host(sandbox: Sandbox) -> None:
    sandbox.configure(account_host="localhost")
    assert f'"host": "http://localhost:{sandbox.port}"' in sandbox.connection_json()
    sandbox.configure(account_host=None)
    assert f'"host": "{sandbox.url}"' in sandbox.connection_json()


@pytest.mark.parametrize("value", ["http://localhost", "localhost:8080", "", "two words"])
def test_account_host_must_be_a_bare_host_name(sandbox: Sandbox, value: str) -> None:
    with pytest.raises(ValueError, match="account_host"):
        sandbox.configure(account_host=value)
