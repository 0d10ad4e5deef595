"""The hook against a real sandbox over HTTP: exact data, budget, errors, retries, secrets."""

from __future__ import annotations

import itertools
import logging

import pytest

from airflow_provider_leadact.endpoints import ACTIVITIES_PATH
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredConfigError,
    LeadSquaredNotFoundError,
    LeadSquaredTransientError,
)


def by_size(sandbox):
    """Lead ids: the biggest lead, a mid-size one, a small one, an empty one."""
    sizes = {lead_id: len(sandbox.truth(lead_id)) for lead_id in sandbox.lead_ids()}
    ordered = sorted(sizes, key=sizes.get)
    empty = ordered[0]
    small = next(i for i in ordered if 0 < sizes[i] <= 30)
    mid = next(i for i in ordered if 100 <= sizes[i] <= 400)
    return {"big": ordered[-1], "mid": mid, "small": small, "empty": empty, "sizes": sizes}


@pytest.mark.parametrize(
    ("offset_mode", "record_count", "row_cap"),
    list(itertools.product(["page0", "page1", "row"], ["total", "page"], [None, 70])),
)
def test_exact_ground_truth_under_every_server_reading(make_sandbox, make_hook, offset_mode, record_count, row_cap):
    sandbox = make_sandbox(offset_mode=offset_mode, record_count=record_count, row_cap=row_cap)
    leads = by_size(sandbox)
    assert leads["sizes"][leads["big"]] > 1000 and leads["sizes"][leads["empty"]] == 0
    hook = make_hook(sandbox, page_size=150)
    for name in ("small", "big", "empty", "mid", "small"):
        fetched = list(hook.get_lead_activities(leads[name]))
        assert fetched == sandbox.truth(leads[name]), name
    assert sandbox.stats()["query_auth_calls"] == 0


def test_activity_event_and_file_urls(sandbox, make_hook):
    hook = make_hook(sandbox)
    lead = by_size(sandbox)["mid"]
    events = {a["EventCode"] for a in sandbox.truth(lead)}
    event = sorted(events)[0]
    assert list(hook.get_lead_activities(lead, activity_event=event)) == sandbox.truth(lead, activity_event=event)
    assert list(hook.get_lead_activities(lead, get_file_url=True)) == sandbox.truth(lead, get_file_url=True)


def test_single_page_lead_costs_one_call_when_record_count_is_the_total(make_sandbox, make_hook):
    sandbox = make_sandbox(record_count="total")
    leads = by_size(sandbox)
    hook = make_hook(sandbox, page_size=100)
    list(hook.get_lead_activities(leads["mid"]))  # a multi-page lead shows RecordCount is the total
    before = sandbox.stats()["calls"]
    assert list(hook.get_lead_activities(leads["small"])) == sandbox.truth(leads["small"])
    assert sandbox.stats()["calls"] - before == 1


def test_many_leads_concurrently_equal_ground_truth(sandbox, make_hook):
    hook = make_hook(sandbox)
    ids = sandbox.lead_ids()
    fetched = dict(hook.iter_leads_activities(ids + ids[:3]))
    assert set(fetched) == set(ids)
    assert fetched == sandbox.all_truth()


def test_budget_is_never_exceeded_in_any_window(make_sandbox, make_hook):
    sandbox = make_sandbox(rate_limit_calls=6, rate_limit_period=1.0, latency=0.05)
    hook = make_hook(sandbox, rate_limit_calls=6, rate_limit_period_seconds=1, page_size=1000)
    ids = [i for i in sandbox.lead_ids() if len(sandbox.truth(i)) <= 1000][:24]
    fetched = dict(hook.iter_leads_activities(ids))
    assert fetched == {i: sandbox.truth(i) for i in ids}
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0
    assert 0 < stats["max_in_window"] <= 6


@pytest.mark.parametrize("style", ["429", "200"])
def test_rate_limit_answers_are_waited_out_never_read_as_no_activities(make_sandbox, make_hook, style):
    # The client believes it may make 50 calls a second; the account allows 4: the server's
    # answers must be waited out and retried, whichever form they take.
    sandbox = make_sandbox(rate_limit_calls=4, rate_limit_period=0.5, rate_limit_style=style)
    hook = make_hook(sandbox, rate_limit_calls=50, rate_limit_period_seconds=1, page_size=1000)
    ids = [i for i in sandbox.lead_ids() if len(sandbox.truth(i)) <= 1000][:16]
    fetched = dict(hook.iter_leads_activities(ids))
    assert fetched == {i: sandbox.truth(i) for i in ids}
    assert sandbox.stats()["rate_limited"] > 0
    assert hook.stats["rate_limit_waits"] == sandbox.stats()["rate_limited"]


@pytest.mark.parametrize("kind", ["500", "503", "drop", "truncated", "slow", "rate_limit"])
def test_transient_faults_are_retried_to_the_exact_answer(make_sandbox, make_hook, kind):
    sandbox = make_sandbox(slow_seconds=2.0, rate_limit_style="200")
    hook = make_hook(sandbox, timeout_seconds=0.5)
    lead = by_size(sandbox)["small"]
    sandbox.inject_faults(kind, 2)
    assert list(hook.get_lead_activities(lead)) == sandbox.truth(lead)
    if kind == "rate_limit":
        assert hook.stats["rate_limit_waits"] == 2
    else:
        assert hook.stats["retries"] == 2


def test_after_the_last_retry_the_error_names_the_lead_and_the_cause(sandbox, make_hook):
    hook = make_hook(sandbox, max_attempts=3)
    lead = by_size(sandbox)["small"]
    sandbox.inject_faults("500", 10)
    with pytest.raises(LeadSquaredTransientError) as info:
        list(hook.get_lead_activities(lead))
    assert lead in str(info.value) and "HTTP 500" in str(info.value) and "3 attempts" in str(info.value)
    assert sandbox.stats()["calls"] == 3


def test_wrong_keys_fail_at_once_with_advice_and_no_key(sandbox, make_hook, caplog):
    wrong_access, wrong_secret = "wrong-access-key-123456", "wrong-secret-key-654321"
    hook = make_hook(sandbox, login=wrong_access, password=wrong_secret)
    lead = by_size(sandbox)["small"]
    with caplog.at_level(logging.DEBUG), pytest.raises(LeadSquaredAuthError) as info:
        list(hook.get_lead_activities(lead))
    message = str(info.value)
    assert "Access Key" in message and "region host" in message and lead in message
    for key in (wrong_access, wrong_secret):
        assert key not in message and key not in caplog.text
    # Not retried: the call, then one UserByAccessKey.Get looking for the account's host (it refuses the keys too).
    assert sandbox.stats()["calls"] == 2
    ok, text = hook.test_connection()
    assert not ok and "401" in text and wrong_access not in text and wrong_secret not in text


def test_wrong_path_is_a_404_telling_to_check_the_host(sandbox, make_hook):
    hook = make_hook(sandbox, host=sandbox.url + "/not-the-api")
    with pytest.raises(LeadSquaredNotFoundError, match="check the host"):
        list(hook.get_lead_activities(by_size(sandbox)["small"]))
    assert sandbox.stats()["calls"] == 1


def test_application_errors_are_reported_not_retried(sandbox, make_hook):
    hook = make_hook(sandbox)
    with pytest.raises(LeadSquaredApiError) as info:
        hook.client.call("POST", ACTIVITIES_PATH, params={"leadId": "not-a-guid"}, body={}, what="activities of lead X")
    assert info.value.exception_type.startswith("MX") and "lead X" in str(info.value)
    assert sandbox.stats()["calls"] == 1


@pytest.mark.parametrize(
    ("lead_id", "event", "message"),
    [(None, None, "None"), ("", None, "empty"), ("abc", None, "not a GUID"), ("{lead}", "x", "integer")],
)
def test_bad_input_is_refused_before_any_call(sandbox, make_hook, lead_id, event, message):
    hook = make_hook(sandbox)
    lead_id = by_size(sandbox)["small"] if lead_id == "{lead}" else lead_id
    with pytest.raises(LeadSquaredConfigError, match=message):
        hook.get_lead_activities(lead_id, activity_event=event)
    with pytest.raises(LeadSquaredConfigError):
        list(hook.iter_leads_activities([by_size(sandbox)["small"], lead_id], activity_event=event))
    assert sandbox.stats()["calls"] == 0


def test_unknown_connection_is_a_clear_error(sandbox):
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    hook = LeadSquaredHook(leadsquared_conn_id="no_such_connection")
    with pytest.raises(LeadSquaredConfigError, match="AIRFLOW_CONN_NO_SUCH_CONNECTION"):
        list(hook.iter_leads_activities(sandbox.lead_ids()[:1]))


def test_test_connection_names_the_user_never_a_key(sandbox, make_hook):
    hook = make_hook(sandbox)
    ok, message = hook.test_connection()
    assert ok and "Connected" in message
    assert hook.settings.access_key not in message and hook.settings.secret_key not in message


def test_keys_travel_in_headers_never_in_urls(sandbox, make_hook):
    hook = make_hook(sandbox)
    urls = []
    hook.session.hooks["response"].append(lambda response, *args, **kwargs: urls.append(response.request.url))
    dict(hook.iter_leads_activities(sandbox.lead_ids()[:5]))
    hook.test_connection()
    assert urls
    for url in urls:
        assert hook.settings.access_key not in url and hook.settings.secret_key not in url
    assert sandbox.stats()["query_auth_calls"] == 0


def test_both_keys_are_masked_in_logs(sandbox, make_hook):
    from airflow.sdk._shared.secrets_masker import redact

    hook = make_hook(sandbox)
    settings = hook.settings
    text = f"access={settings.access_key} secret={settings.secret_key}"
    redacted = redact(text)
    assert settings.access_key not in redacted and settings.secret_key not in redacted


def test_recently_modified_leads_equal_the_sandbox(sandbox, make_hook):
    import pendulum

    hook = make_hook(sandbox)
    start = pendulum.datetime(2025, 1, 3, tz="UTC")
    end = start.add(days=1)
    expected = sandbox.leads_modified("2025-01-03 00:00:00", "2025-01-03 23:59:59")
    assert expected
    assert sorted(hook.get_recently_modified_lead_ids(start, end)) == sorted(expected)
    whole = hook.get_recently_modified_lead_ids(pendulum.datetime(2024, 12, 1), pendulum.datetime(2025, 2, 1))
    assert sorted(whole) == sorted(sandbox.lead_ids())
    with pytest.raises(LeadSquaredConfigError, match="after"):
        hook.get_recently_modified_lead_ids(end, start)
