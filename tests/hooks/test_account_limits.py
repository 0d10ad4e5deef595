"""The account's real limits, against the sandbox over HTTP: a learned rate limit, the daily
cap (the connection's and the server's), the region host, the connection test's message."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_leadact.endpoints import USER_PATH
from airflow_provider_leadact.exceptions import LeadSquaredDailyCapReached, LeadSquaredDailyLimitError
from tests.support.connections import connection_json
from tests.support.sandbox import KEYS

WORKER = Path(__file__).with_name("budget_worker.py")


def log_lines(capfd, caplog) -> list[str]:
    """What the hook logged: Airflow's task logger prints (structlog); plain logging is captured."""
    captured = capfd.readouterr()
    return [*(captured.out + captured.err).splitlines(), *(r.getMessage() for r in caplog.records)]


def one_page_leads(sandbox, n: int) -> list[str]:
    return [i for i in sandbox.lead_ids() if 0 < len(sandbox.truth(i)) <= 1000][:n]


@pytest.mark.parametrize("style", ["429", "200"])
def test_a_limit_below_the_assumed_one_is_learned_with_few_rate_limit_answers(
    make_sandbox, make_hook, caplog, capfd, style
):
    # The plan allows 4 calls a second; the connection does not say, so 25 is assumed.
    sandbox = make_sandbox(rate_limit_calls=4, rate_limit_period=1.0, rate_limit_style=style, latency=0.05)
    hook = make_hook(sandbox, rate_limit_calls=None, rate_limit_period_seconds=1, rate_limit_backend="memory")
    ids = one_page_leads(sandbox, 16)
    with caplog.at_level(logging.INFO):
        fetched = dict(hook.iter_leads_activities(ids))
    assert fetched == {i: sandbox.truth(i) for i in ids}
    stats = sandbox.stats()
    assert 0 < stats["rate_limited"] <= 3, stats
    assert stats["max_in_window"] <= 4
    learned = [line for line in log_lines(capfd, caplog) if "account's limit is 4 calls in 1 s" in line]
    assert len(learned) == 1 and "rate_limit_calls' to 4" in learned[0]


def test_a_stated_limit_is_used_from_the_first_call(make_sandbox, make_hook):
    sandbox = make_sandbox(rate_limit_calls=6, rate_limit_period=1.0, latency=0.05)
    hook = make_hook(sandbox, rate_limit_calls=6, rate_limit_period_seconds=1, rate_limit_backend="memory")
    dict(hook.iter_leads_activities(one_page_leads(sandbox, 6)))
    # No caution when the plan is stated: the first window's calls go at once.
    assert sandbox.stats()["max_in_window"] == 6 and sandbox.stats()["rate_limited"] == 0


def test_processes_learn_the_limit_once_for_all(make_sandbox, tmp_path):
    sandbox = make_sandbox(rate_limit_calls=4, rate_limit_period=1.0, latency=0.05)
    ids = one_page_leads(sandbox, 18)
    conn = connection_json(sandbox, fast=False, rate_limit_period_seconds=1, rate_limit_backend=f"file:{tmp_path}")
    env = {**os.environ, "AIRFLOW_CONN_LSQ_SHARED": conn, "PYTHONPATH": str(WORKER.parents[2])}
    procs = []
    for n in range(3):
        out = tmp_path / f"worker{n}.json"
        procs.append(
            (out, subprocess.Popen([sys.executable, str(WORKER), "lsq_shared", str(out), *ids[n::3]], env=env))
        )
    fetched = {}
    for out, proc in procs:
        assert proc.wait(timeout=120) == 0
        fetched.update(json.loads(out.read_text())["activities"])
    assert fetched == {i: sandbox.truth(i) for i in ids}
    assert 0 < sandbox.stats()["rate_limited"] <= 3, sandbox.stats()


def test_the_daily_cap_is_never_exceeded(sandbox, make_hook):
    hook = make_hook(sandbox, daily_call_cap=5, rate_limit_backend="memory")
    ids = one_page_leads(sandbox, 10)
    fetched = {}
    with pytest.raises(LeadSquaredDailyCapReached) as info:
        for lead_id, activities in hook.iter_leads_activities(ids):
            fetched[lead_id] = activities
    time.sleep(0.5)  # calls granted before the cap was met may still be on their way
    assert sandbox.stats()["calls"] == 5  # the sixth call was never made
    message = str(info.value)
    assert "5 of 5 calls used today" in message and "resets at" in message
    assert all(fetched[i] == sandbox.truth(i) for i in fetched)
    # Another task on the same account fails at once, without a call.
    other = make_hook(sandbox, daily_call_cap=5, rate_limit_backend="memory")
    with pytest.raises(LeadSquaredDailyCapReached):
        dict(other.iter_leads_activities(ids[:1]))
    assert sandbox.stats()["calls"] == 5


def test_calls_today_are_counted_across_tasks(sandbox, make_hook):
    first = make_hook(sandbox, rate_limit_backend="memory", daily_call_cap=1000)
    dict(first.iter_leads_activities(one_page_leads(sandbox, 3)))
    second = make_hook(sandbox, rate_limit_backend="memory", daily_call_cap=1000)
    dict(second.iter_leads_activities(one_page_leads(sandbox, 3)[:1]))
    assert second.stats["calls_today"] == sandbox.stats()["calls"] == first.stats["calls"] + second.stats["calls"]


@pytest.mark.parametrize("style", ["429", "200"])
def test_the_servers_daily_limit_fails_at_once(make_sandbox, make_hook, style):
    sandbox = make_sandbox(daily_call_cap=3, rate_limit_style=style)
    hook = make_hook(sandbox, rate_limit_backend="memory")
    with pytest.raises(LeadSquaredDailyLimitError, match="daily limit of 3 calls"):
        dict(hook.iter_leads_activities(one_page_leads(sandbox, 8)))
    stats = sandbox.stats()
    assert stats["daily_limited"] >= 1 and hook.stats["retries"] == 0 and hook.stats["rate_limit_waits"] == 0


def test_the_accounts_region_host_is_found_and_named(make_sandbox, make_hook, caplog, capfd):
    sandbox = make_sandbox(account_host="localhost")
    wrong = sandbox.url  # 127.0.0.1: "another region's host"
    hook = make_hook(sandbox, host=wrong)
    lead = one_page_leads(sandbox, 1)[0]
    with caplog.at_level(logging.WARNING):
        assert list(hook.get_lead_activities(lead)) == sandbox.truth(lead)
        assert dict(hook.iter_leads_activities(one_page_leads(sandbox, 5))) == {
            i: sandbox.truth(i) for i in one_page_leads(sandbox, 5)
        }
    found = [line for line in log_lines(capfd, caplog) if "UserByAccessKey.Get names" in line]
    assert len(found) == 1 and f"Set the connection's host to localhost:{sandbox.port}" in found[0]
    assert sandbox.stats()["wrong_host"] == 1  # one 401, then every call on the right host
    ok, message = hook.test_connection()
    assert ok and f"this account's API host is http://localhost:{sandbox.port}" in message


def test_the_accounts_host_is_found_once_for_every_task_of_the_account(make_sandbox, tmp_path):
    sandbox = make_sandbox(account_host="localhost", **KEYS)
    ids = one_page_leads(sandbox, 4)
    # 127.0.0.1 is "another region's host"; the tasks share a file budget, as on one worker.
    conn = connection_json(sandbox.url, rate_limit_backend=f"file:{tmp_path}")
    env = {**os.environ, "AIRFLOW_CONN_LSQ_REGION": conn, "PYTHONPATH": str(WORKER.parents[2])}
    fetched, seen = {}, []
    for task, chunk in enumerate((ids[:2], ids[2:])):
        out = tmp_path / f"task{task}.json"
        subprocess.run([sys.executable, str(WORKER), "lsq_region", str(out), *chunk], env=env, check=True, timeout=120)
        fetched.update(json.loads(out.read_text())["activities"])
        stats = sandbox.stats()
        seen.append((stats["wrong_host"], stats["by_endpoint"].get(USER_PATH, 0)))
    assert fetched == {i: sandbox.truth(i) for i in ids}
    # The first task met the 401 (once per lead in flight) and asked UserByAccessKey.Get once;
    # the second recalled the host: no 401, no UserByAccessKey.Get.
    first_401s, first_users = seen[0]
    assert first_401s >= 1 and first_users == 1
    assert seen[1] == seen[0]


def test_a_foreign_host_named_by_the_answer_is_not_followed(sandbox, make_hook):
    hook = make_hook(sandbox)
    assert hook.client.account_host_of({"LSQCommonServiceURLs": {"api": "https://evil.example.com"}}) is None
    region = {"LSQCommonServiceURLs": {"api": "https://api-in21.leadsquared.com/"}}
    assert hook.client.account_host_of(region) == "https://api-in21.leadsquared.com"
    assert hook.client.account_host_of({"LSQCommonServiceURLs": {"api": "http://api-in21.leadsquared.com"}}) is None
    assert hook.client.account_host_of({"LSQCommonServiceURLs": {"api": "http://localhost:1"}}) == "http://localhost:1"


def test_the_connection_test_names_the_host_never_the_temporary_id(sandbox, make_hook):
    hook = make_hook(sandbox, login="wrong-access-key-123456")
    ok, message = hook.test_connection()
    assert not ok and sandbox.url in message and hook.leadsquared_conn_id not in message
    assert "this connection" in message
    bad = make_hook(sandbox, page_size=0)
    ok, message = bad.test_connection()
    assert not ok and "page_size" in message and bad.leadsquared_conn_id not in message
    good = make_hook(sandbox)
    ok, message = good.test_connection()
    assert ok and message.startswith(f"Connected to {sandbox.url} as ")


def test_a_distributed_executor_without_a_shared_budget_is_told(sandbox, make_hook, monkeypatch, caplog, capfd):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    with caplog.at_level(logging.WARNING):
        make_hook(sandbox).settings  # noqa: B018
        make_hook(sandbox, rate_limit_backend="redis://127.0.0.1:1/0").settings  # noqa: B018
    told = [line for line in log_lines(capfd, caplog) if "executor is CeleryExecutor" in line]
    assert len(told) == 1 and "redis://" in told[0]


def test_pages_are_reported_while_a_long_lead_is_paged(sandbox, make_hook):
    hook = make_hook(sandbox, page_size=100)
    big = max(sandbox.lead_ids(), key=lambda i: len(sandbox.truth(i)))
    pages: list[tuple[str, int]] = []
    fetched = dict(hook.iter_leads_activities([big], on_page=lambda lead, n: pages.append((lead, n))))
    assert fetched[big] == sandbox.truth(big)
    assert len(pages) >= len(sandbox.truth(big)) // 100 and sum(n for _, n in pages) == len(sandbox.truth(big))
