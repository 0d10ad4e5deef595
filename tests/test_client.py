"""The HTTP client on its own, over real HTTP: one exchange, one attempt, a call with retries,
each answer classified as a value the loops act on, and the account's host found once."""

from __future__ import annotations

import pytest

from airflow_provider_leadact.client import Answer, LeadSquaredClient, Verdict
from airflow_provider_leadact.endpoints import ACTIVITIES_PATH
from airflow_provider_leadact.exceptions import LeadSquaredApiError, LeadSquaredTransientError


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
