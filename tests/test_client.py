"""The HTTP client on its own, over real HTTP: one exchange, one attempt, a call with retries,
each answer classified as a value the loops act on, and the account's host found once."""

from __future__ import annotations

import pytest

from airflow_provider_leadact.answers import Answer, Verdict
from airflow_provider_leadact.client import HOST_FACT, USER_PATH, LeadSquaredClient
from airflow_provider_leadact.endpoints import ACTIVITIES_PATH
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)


def small_lead(sandbox) -> str:
    return next(i for i in sandbox.lead_ids() if 0 < len(sandbox.truth(i)) <= 30)


def test_post_json_returns_the_answer(sandbox, make_hook):
    client: LeadSquaredClient = make_hook(sandbox).client
    lead = small_lead(sandbox)
    payload = client.post_json(
        ACTIVITIES_PATH,
        {"Paging": {"Offset": "0", "RowCount": "1000"}},
        params={"leadId": lead},
        what=f"activities of lead {lead}",
        expect="ProspectActivities",
    )
    assert payload["ProspectActivities"] == sandbox.truth(lead)
    assert client.stats["calls"] == 1


def test_an_attempt_is_not_retried_a_call_is(sandbox, make_hook):
    client = make_hook(sandbox).client
    lead = small_lead(sandbox)
    body = {"Paging": {"Offset": "0", "RowCount": "1000"}}
    sandbox.inject_faults("503", 1)
    answer = client.attempt("POST", ACTIVITIES_PATH, params={"leadId": lead}, body=body, what="one attempt")
    assert answer.verdict is Verdict.RETRY and isinstance(answer.error, LeadSquaredTransientError)
    with pytest.raises(LeadSquaredTransientError, match="HTTP 503"):
        answer.result()
    sandbox.inject_faults("503", 2)
    payload = client.post_json(ACTIVITIES_PATH, body, params={"leadId": lead}, what="a call")
    assert payload["ProspectActivities"] == sandbox.truth(lead)
    assert client.stats["retries"] == 2 and sandbox.stats()["calls"] == 4


def test_an_attempt_waits_out_rate_limit_answers(sandbox, make_hook):
    client = make_hook(sandbox, rate_limit_period_seconds=0.1).client
    lead = small_lead(sandbox)
    sandbox.inject_faults("rate_limit", 2)
    body = {"Paging": {"Offset": "0", "RowCount": "1000"}}
    answer = client.attempt("POST", ACTIVITIES_PATH, params={"leadId": lead}, body=body, what="one attempt")
    assert answer == Answer(Verdict.OK, answer.payload)
    assert answer.result()["ProspectActivities"] == sandbox.truth(lead)
    assert client.stats["rate_limit_waits"] == 2 and client.stats["retries"] == 0


def test_an_application_error_names_what_was_fetched(sandbox, make_hook):
    client = make_hook(sandbox).client
    with pytest.raises(LeadSquaredApiError, match="lead X") as info:
        client.post_json(ACTIVITIES_PATH, {}, params={"leadId": "not-a-guid"}, what="activities of lead X")
    assert info.value.exception_type.startswith("MX")


def test_each_answer_is_classified_as_a_value_never_raised(sandbox, make_hook):
    client = make_hook(sandbox, rate_limit_period_seconds=0.1).client
    lead = small_lead(sandbox)

    def exchange(lead_id: str = lead) -> Answer:
        body = {"Paging": {"Offset": "0", "RowCount": "1000"}}
        return client.exchange("POST", ACTIVITIES_PATH, params={"leadId": lead_id}, body=body, what="one exchange")

    ok = exchange()
    assert ok.verdict is Verdict.OK and ok.payload["ProspectActivities"] == sandbox.truth(lead) and ok.error is None
    sandbox.inject_faults("rate_limit", 1)
    limited = exchange()
    assert limited.verdict is Verdict.RATE_LIMITED and isinstance(limited.error, LeadSquaredRateLimited)
    sandbox.inject_faults("truncated", 1)
    assert exchange().verdict is Verdict.RETRY
    failed = exchange("not-a-guid")
    assert failed.verdict is Verdict.FAIL and isinstance(failed.error, LeadSquaredApiError)
    assert "one exchange" in str(failed.error) and failed.error.exception_type.startswith("MX")
    # Each exchange is one call; waiting out a rate limit or retrying is the loops' business.
    assert sandbox.stats()["calls"] == 4 and client.stats["rate_limit_waits"] == client.stats["retries"] == 0


def test_wrong_keys_are_a_failure_not_a_fault(sandbox, make_hook):
    client = make_hook(sandbox, login="wrong-access-key-123456").client
    answer = client.exchange("GET", USER_PATH, what="the user")
    assert answer.verdict is Verdict.FAIL and isinstance(answer.error, LeadSquaredAuthError)
    assert "wrong-access-key-123456" not in str(answer.error)


def test_the_accounts_host_found_once_is_recalled_by_another_client_without_a_401(make_sandbox, make_hook):
    sandbox = make_sandbox(account_host="localhost")
    lead = small_lead(sandbox)
    body = {"Paging": {"Offset": "0", "RowCount": "1000"}}
    # Two connections to one account, both naming another region's host (127.0.0.1), with
    # different limits: one budget, so one shared state.
    first = make_hook(sandbox, host=sandbox.url, rate_limit_backend="memory").client
    second = make_hook(sandbox, host=sandbox.url, rate_limit_backend="memory", rate_limit_calls=500).client
    assert first.post_json(ACTIVITIES_PATH, body, params={"leadId": lead}, what="a call")["ProspectActivities"]
    assert sandbox.stats()["wrong_host"] == 1 and first.base_url == sandbox.account_url
    calls = sandbox.stats()["calls"]
    assert second.post_json(ACTIVITIES_PATH, body, params={"leadId": lead}, what="a call")["ProspectActivities"]
    assert second.base_url == sandbox.account_url
    assert (
        sandbox.stats()["wrong_host"] == 1 and sandbox.stats()["calls"] == calls + 1
    )  # no 401, no UserByAccessKey.Get
    # The budget did not change when the host was found: both clients still draw on the one state.
    assert first.budget.recall(HOST_FACT) == second.budget.recall(HOST_FACT) == sandbox.account_url


def test_a_recalled_host_that_is_not_leadsquareds_is_not_followed(sandbox, make_hook):
    client = make_hook(sandbox, rate_limit_backend="memory").client
    client.budget.remember(HOST_FACT, "https://evil.example.com")
    client.recall_account_host()
    assert client.base_url == sandbox.account_url


def test_two_connections_to_one_account_share_one_budget_whatever_their_limits(sandbox, make_hook):
    first = make_hook(sandbox, rate_limit_backend="memory", rate_limit_calls=100).client
    second = make_hook(sandbox, rate_limit_backend="memory", rate_limit_calls=200).client
    assert first.budget.acquire().position == 0
    grant = second.budget.acquire()
    # The second connection's call counts the first's, and is read against its own limit.
    assert grant.position == 1 and grant.limit.calls == 200
