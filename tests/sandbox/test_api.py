"""The emulated endpoints over real HTTP: answers, paging readings, auth and errors."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
import requests

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.api import ACTIVITIES_PATH, USER_PATH
from airflow_provider_leadact.sandbox.data import FILE_URL_BASE
from tests.support.sandbox import Client

UNKNOWN_LEAD = "00000000-0000-4000-8000-000000000000"


def assert_mx_error(response: requests.Response, status: int, exception_type: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["Status"] == "Error"
    assert body["ExceptionType"] == exception_type
    assert body["ExceptionMessage"]
    return body["ExceptionMessage"]


# -- Get Activities of a Lead ------------------------------------------------------------


def test_empty_body_returns_the_first_25_newest_first(
    client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]
) -> None:
    lead_id = leads_by_size["large"]
    response = client.activities(lead_id)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    body = response.json()
    assert list(body) == ["RecordCount", "ProspectActivities"]
    assert body["RecordCount"] == len(sandbox.truth(lead_id)) > 1000
    assert body["ProspectActivities"] == sandbox.truth(lead_id)[:25]


def test_documented_example_body_with_string_paging(
    client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]
) -> None:
    lead_id = leads_by_size["largest"]
    body = {"Parameter": {"ActivityEvent": 201}, "Paging": {"Offset": "0", "RowCount": "10"}}
    answer = client.activities(lead_id, body).json()
    expected = sandbox.truth(lead_id, activity_event=201)
    assert answer["RecordCount"] == len(expected) > 10
    assert answer["ProspectActivities"] == expected[:10]
    assert {item["EventCode"] for item in answer["ProspectActivities"]} == {201}


def test_integer_and_string_values_are_equivalent(client: Client, leads_by_size: dict[str, str]) -> None:
    lead_id = leads_by_size["medium"]
    as_strings = {"Parameter": {"ActivityEvent": "21"}, "Paging": {"Offset": "1", "RowCount": "7"}}
    as_ints = {"Parameter": {"ActivityEvent": 21}, "Paging": {"Offset": 1, "RowCount": 7}}
    assert client.activities(lead_id, as_strings).json() == client.activities(lead_id, as_ints).json()


@pytest.mark.parametrize(("offset_mode", "first", "step"), [("page0", 0, 1), ("page1", 1, 1), ("row", 0, 300)])
@pytest.mark.parametrize("record_count", ["total", "page"])
def test_every_activity_once_under_each_reading(
    client: Client,
    sandbox: Sandbox,
    leads_by_size: dict[str, str],
    offset_mode: str,
    first: int,
    step: int,
    record_count: str,
) -> None:
    sandbox.configure(offset_mode=offset_mode, record_count=record_count)
    lead_id = leads_by_size["largest"]
    rows = client.all_pages(lead_id, size=300, first=first, step=step)
    assert rows == sandbox.truth(lead_id)
    first_page = client.activities(lead_id, {"Paging": {"Offset": first, "RowCount": 300}}).json()
    assert first_page["RecordCount"] == (1500 if record_count == "total" else 300)


def test_page1_treats_zero_and_one_alike(client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]) -> None:
    sandbox.configure(offset_mode="page1")
    lead_id = leads_by_size["medium"]
    zero = client.activities(lead_id, {"Paging": {"Offset": 0, "RowCount": 10}}).json()
    one = client.activities(lead_id, {"Paging": {"Offset": 1, "RowCount": 10}}).json()
    two = client.activities(lead_id, {"Paging": {"Offset": 2, "RowCount": 10}}).json()
    assert zero == one
    assert two["ProspectActivities"] == sandbox.truth(lead_id)[10:20]


def test_row_cap_returns_fewer_rows_than_asked(client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]) -> None:
    lead_id = leads_by_size["largest"]
    answer = client.activities(lead_id, {"Paging": {"Offset": 0, "RowCount": 5000}}).json()
    assert len(answer["ProspectActivities"]) == 1000
    assert answer["RecordCount"] == 1500
    sandbox.configure(row_cap=None)
    answer = client.activities(lead_id, {"Paging": {"Offset": 0, "RowCount": 5000}}).json()
    assert len(answer["ProspectActivities"]) == 1500


def test_unknown_and_empty_leads(client: Client, leads_by_size: dict[str, str]) -> None:
    expected = {"RecordCount": 0, "ProspectActivities": []}
    assert client.activities(UNKNOWN_LEAD).json() == expected
    assert client.activities(leads_by_size["empty"]).json() == expected


def test_lead_id_is_case_insensitive(client: Client, leads_by_size: dict[str, str]) -> None:
    lead_id = leads_by_size["small"]
    assert client.activities(lead_id.upper()).json() == client.activities(lead_id).json()


def test_get_file_url(client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]) -> None:
    lead_id = leads_by_size["largest"]
    body = {"Parameter": {"ActivityEvent": 164}, "Paging": {"Offset": 0, "RowCount": 50}}
    plain = client.activities(lead_id, body).json()["ProspectActivities"]
    with_urls = client.activities(lead_id, body, params={"getFileURL": "true"}).json()
    assert with_urls["ProspectActivities"] == sandbox.truth(lead_id, 164, get_file_url=True)[:50]
    assert plain == sandbox.truth(lead_id, 164)[:50]
    assert FILE_URL_BASE not in json.dumps(plain)
    shown = json.loads(with_urls["ProspectActivities"][0]["ActivityFields"]["mx_Custom_1"])
    assert shown["mx_CustomObject_1"].startswith(FILE_URL_BASE)


def test_unicode_survives_the_wire(client: Client, sandbox: Sandbox, leads_by_size: dict[str, str]) -> None:
    lead_id = leads_by_size["largest"]
    answer = client.activities(lead_id, {"Paging": {"Offset": 0, "RowCount": 1000}})
    assert answer.json()["ProspectActivities"] == sandbox.truth(lead_id)[:1000]
    assert "\u0928" in answer.content.decode("utf-8")  # sent as UTF-8, not \u escapes


@pytest.mark.parametrize(
    ("params", "raw_body", "fragment"),
    [
        ({}, b"{}", "leadId"),
        ({"leadId": "not-a-guid"}, b"{}", "GUID"),
        ({"leadId": UNKNOWN_LEAD}, b"{not json", "JSON"),
        ({"leadId": UNKNOWN_LEAD}, b"[1, 2]", "object"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Parameter": []}', "Parameter"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Paging": "0,10"}', "Paging"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Parameter": {"ActivityEvent": "email"}}', "ActivityEvent"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Parameter": {"ActivityEvent": 20.5}}', "ActivityEvent"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Parameter": {"ActivityEvent": true}}', "ActivityEvent"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Paging": {"Offset": "-1", "RowCount": "5"}}', "Offset"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Paging": {"Offset": "0", "RowCount": "0"}}', "RowCount"),
        ({"leadId": UNKNOWN_LEAD}, b'{"Paging": {"Offset": "one"}}', "Offset"),
    ],
)
def test_bad_requests_answer_400(client: Client, params: dict[str, str], raw_body: bytes, fragment: str) -> None:
    response = client.session.post(
        client.url(ACTIVITIES_PATH),
        params=params,
        data=raw_body,
        headers={**client.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    message = assert_mx_error(response, 400, "MXInvalidInputException")
    assert fragment in message


# -- authentication -------------------------------------------------------------------


def test_missing_and_wrong_keys_answer_401_without_echoing_them(client: Client, sandbox: Sandbox) -> None:
    missing = client.activities(UNKNOWN_LEAD, headers={})
    assert_mx_error(missing, 401, "MXUnAuthorizedException")
    wrong = {"x-LSQ-AccessKey": "wrong-access-key-123", "x-LSQ-SecretKey": "wrong-secret-456"}
    response = client.activities(UNKNOWN_LEAD, headers=wrong)
    assert_mx_error(response, 401, "MXUnAuthorizedException")
    half = {"x-LSQ-AccessKey": sandbox.config.access_key, "x-LSQ-SecretKey": "nope-nope-nope"}
    response_half = client.activities(UNKNOWN_LEAD, headers=half)
    assert_mx_error(response_half, 401, "MXUnAuthorizedException")
    for text in (response.text, response_half.text):
        assert "wrong-access-key-123" not in text and "wrong-secret-456" not in text
        assert sandbox.config.access_key not in text and "nope-nope-nope" not in text
    stats = sandbox.stats()
    assert stats["unauthorized"] == 3 and stats["accepted"] == 0 and stats["calls"] == 3


def test_header_names_are_case_insensitive(client: Client, sandbox: Sandbox) -> None:
    headers = {
        "X-LSQ-ACCESSKEY": sandbox.config.access_key,
        "x-lsq-secretkey": sandbox.config.secret_key,
    }
    assert client.activities(UNKNOWN_LEAD, headers=headers).status_code == 200
    assert sandbox.stats()["query_auth_calls"] == 0


def test_query_string_keys_work_and_are_counted(client: Client, sandbox: Sandbox) -> None:
    keys = {"accessKey": sandbox.config.access_key, "secretKey": sandbox.config.secret_key}
    assert client.activities(UNKNOWN_LEAD, params=keys, headers={}).status_code == 200
    assert client.user(params=keys, headers={}).status_code == 200
    assert client.user().status_code == 200
    bad = {"accessKey": "x" * 10, "secretKey": "y" * 10}
    assert client.user(params=bad, headers={}).status_code == 401
    stats = sandbox.stats()
    assert stats["query_auth_calls"] == 3
    assert stats["calls"] == 4 and stats["unauthorized"] == 1


def test_changed_keys_take_effect(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(access_key="rotated-access", secret_key="rotated-secret")
    assert client.user().status_code == 401
    rotated = {"x-LSQ-AccessKey": "rotated-access", "x-LSQ-SecretKey": "rotated-secret"}
    assert client.user(headers=rotated).status_code == 200


# -- other endpoints and statuses -------------------------------------------------------


def test_user_by_access_key(client: Client, sandbox: Sandbox) -> None:
    response = client.user()
    assert response.status_code == 200
    user = response.json()
    assert user["FirstName"] == "Sandbox" and user["LastName"] == "User"
    assert user["EmailAddress"] == "sandbox.user@example.com"
    assert user["Role"] == "Administrator"
    assert user["LSQCommonServiceURLs"]["api"] == sandbox.url
    assert "app" in user["LSQCommonServiceURLs"]


def test_unknown_path_and_wrong_method(client: Client, sandbox: Sandbox) -> None:
    missing = client.session.post(client.url("/v2/Nope.svc/Nothing"), json={}, timeout=10)
    assert_mx_error(missing, 404, "MXAPINotFoundException")
    wrong = client.session.get(client.url(ACTIVITIES_PATH), headers=client.headers, timeout=10)
    assert wrong.status_code == 405
    assert wrong.json()["Status"] == "Error"
    stats = sandbox.stats()
    assert stats["by_endpoint"] == {"<unknown>": 1, ACTIVITIES_PATH: 1}
    assert stats["by_status"] == {"404": 1, "405": 1}


def test_paths_match_case_insensitively(client: Client) -> None:
    response = client.session.get(client.url(USER_PATH.lower()), headers=client.headers)
    assert response.status_code == 200


def test_keep_alive_reuses_one_connection(client: Client, sandbox: Sandbox) -> None:
    # Raw HTTP/1.1: two requests on one socket, each answer with a Content-Length.
    host, port = "127.0.0.1", sandbox.port
    request = (
        f"GET {USER_PATH} HTTP/1.1\r\nHost: {host}\r\n"
        f"x-LSQ-AccessKey: {sandbox.config.access_key}\r\n"
        f"x-LSQ-SecretKey: {sandbox.config.secret_key}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=5) as connection:
        stream = connection.makefile("rb")
        for _ in range(2):
            connection.sendall(request)
            status = stream.readline()
            assert status.startswith(b"HTTP/1.1 200")
            headers: dict[str, str] = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            assert json.loads(body)["FirstName"] == "Sandbox"
            assert headers.get("connection", "").lower() != "close"


# -- Leads.RecentlyModified ---------------------------------------------------------------


def lead_body(
    from_date: str = "2025-01-01 00:00:00",
    to_date: str = "2025-01-31 00:00:00",
    **parts: Any,
) -> dict[str, Any]:
    return {"Parameter": {"FromDate": from_date, "ToDate": to_date}, **parts}


def properties(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [{item["Attribute"]: item["Value"] for item in lead["LeadPropertyList"]} for lead in answer["Leads"]]


def test_recently_modified_default_sort_and_columns(client: Client, sandbox: Sandbox) -> None:
    answer = client.leads(lead_body(Paging={"PageIndex": 1, "PageSize": 1000})).json()
    assert answer["RecordCount"] == 60
    leads = properties(answer)
    assert [lead["ProspectID"] for lead in leads] == sandbox.leads_modified(
        "2025-01-01 00:00:00", "2025-01-31 00:00:00"
    )
    stamps = [lead["ModifiedOn"] for lead in leads]
    assert stamps == sorted(stamps)
    assert {"ProspectID", "FirstName", "LastName", "EmailAddress", "ModifiedOn"} <= set(leads[0])


def test_recently_modified_paging_bounds_and_sorting(client: Client, sandbox: Sandbox) -> None:
    ordered = sorted(sandbox.dataset.leads, key=lambda lead: (lead.modified_on, lead.lead_id))
    # Inclusive bounds: the exact ModifiedOn of the 10th and 30th leads are both included.
    low, high = ordered[9].modified_on, ordered[29].modified_on
    expected = [lead.lead_id for lead in ordered if low <= lead.modified_on <= high]
    assert sandbox.leads_modified(low, high) == expected
    pages = []
    for index in (1, 2, 3):
        body = lead_body(low, high, Paging={"PageIndex": str(index), "PageSize": "8"})
        answer = client.leads(body).json()
        assert answer["RecordCount"] == len(expected)
        pages.extend(lead["ProspectID"] for lead in properties(answer))
    assert pages == expected

    descending = lead_body(
        low,
        high,
        Sorting={"ColumnName": "ModifiedOn", "Direction": "1"},
        Columns={"Include_CSV": "FirstName"},
        Paging={"PageIndex": 1, "PageSize": 100},
    )
    leads = properties(client.leads(descending).json())
    assert [lead["ModifiedOn"] for lead in leads] == sorted((lead["ModifiedOn"] for lead in leads), reverse=True)
    assert set(leads[0]) == {"ProspectID", "FirstName", "ModifiedOn"}
    by_name = lead_body(Sorting={"ColumnName": "ProspectID", "Direction": 0})
    ids = [lead["ProspectID"] for lead in properties(client.leads(by_name).json())]
    assert ids == sorted(ids) and len(ids) == 60


def test_recently_modified_caps_page_size(client: Client) -> None:
    answer = client.leads(lead_body(Paging={"PageIndex": 1, "PageSize": 100000})).json()
    assert len(answer["Leads"]) == 60


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "FromDate"),
        ({"Parameter": {"FromDate": "2025-01-01 00:00:00"}}, "ToDate"),
        (lead_body(from_date="2025-01-01"), "FromDate"),
        (lead_body(to_date="yesterday"), "ToDate"),
        (lead_body(Paging={"PageIndex": 0, "PageSize": 10}), "PageIndex"),
        (lead_body(Paging={"PageIndex": 1, "PageSize": 0}), "PageSize"),
        (lead_body(Sorting={"ColumnName": "Shoe size"}), "ColumnName"),
        (lead_body(Sorting={"Direction": "up"}), "Direction"),
        (lead_body(Columns={"Include_CSV": ["FirstName"]}), "Include_CSV"),
    ],
)
def test_recently_modified_bad_requests(client: Client, body: dict[str, Any], fragment: str) -> None:
    assert fragment in assert_mx_error(client.leads(body), 400, "MXInvalidInputException")


def test_leads_modified_python_api_validates_dates(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="from_date"):
        sandbox.leads_modified("2025-01-01", "2025-01-02 00:00:00")
    assert sandbox.leads_modified("2025-02-01 00:00:00", "2025-01-01 00:00:00") == []
