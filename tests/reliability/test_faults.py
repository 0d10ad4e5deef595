"""Faults survived, through the operators against the real sandbox (the quick part; the DAG runs
over hundreds of leads are in test_dag_runs.py).

- Every fault the sandbox injects, at once, plus rate-limit answers given as HTTP 200 with the
  MX body: both sinks end with exactly the ground truth.
- A lead that keeps failing after every retry fails the task with an error naming that lead;
  what was written stays consistent: the file sink leaves the previous complete file (or none)
  and no temporary, the SQL sink only whole, exact rows; the rerun completes both exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredTransientError
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
)
from tests.support.proxies import FailingLeadsProxy
from tests.support.sql import as_records, fetch_rows, strictly_equal
from tests.support.truth import flattened_truth

#: Client settings under faults: a timeout below the sandbox's slow answers, short waits.
UNDER_FAULTS = {
    "timeout_seconds": 0.5,
    "retry_wait_seconds": 0.02,
    "retry_max_wait_seconds": 0.1,
    "max_attempts": 8,
    "rate_limit_calls": 60,
    "rate_limit_period_seconds": 0.5,
    "max_concurrency": 8,
}


def read_jsonl(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows), "an activity was written twice"
    return keyed


def leftovers(folder: Path, final: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != final.name)


#: PostgreSQL runs in the e2e suite (make test-e2e), SQLite in every run.
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.e2e)]


@pytest.mark.parametrize("database", DATABASES)
def test_every_fault_at_once_both_sinks_hold_the_exact_truth(
    request, keyed_sandbox, set_connection, tmp_path: Path, table_name: str, database: str
) -> None:
    sandbox = keyed_sandbox
    sql_conn_id = request.getfixturevalue(f"{database}_conn_id")
    # Rates well above the DAG run's, so that 60 leads see every kind; the server allows 30
    # calls per 0.5 s while the client believes 60: MX rate-limit answers with HTTP 200.
    sandbox.configure(
        fault_500=0.10,
        fault_503=0.05,
        fault_drop=0.04,
        fault_slow=0.03,
        fault_truncated=0.04,
        slow_seconds=1.5,
        fault_seed=11,
        rate_limit_calls=30,
        rate_limit_period=0.5,
        rate_limit_style="200",
    )
    conn_id = set_connection("lsq_faults", sandbox.url, **UNDER_FAULTS)
    ids = sandbox.lead_ids()
    path = tmp_path / "out" / "activities.jsonl"

    to_file = LeadSquaredActivitiesToObjectStorageOperator(
        task_id="f", lead_ids=ids, path=f"file://{path}", leadsquared_conn_id=conn_id, batch_size=500
    )
    to_sql = LeadSquaredActivitiesToSqlOperator(
        task_id="s", lead_ids=ids, conn_id=sql_conn_id, table=table_name, leadsquared_conn_id=conn_id, batch_size=500
    )
    file_summary, sql_summary = to_file.execute({}), to_sql.execute({})

    truth = flattened_truth(sandbox, ids)
    assert read_jsonl(path) == truth
    strictly_equal(as_records(fetch_rows(sql_conn_id, table_name)), truth)
    assert file_summary["activities"] == sql_summary["activities"] == len(truth)
    assert leftovers(path.parent, path) == []

    stats = sandbox.stats()
    assert all(stats["faults"][kind] > 0 for kind in ("500", "503", "drop", "slow", "truncated")), stats["faults"]
    assert stats["rate_limited"] > 0 and stats["by_status"].get("429", 0) == 0
    assert file_summary["rate_limit_waits"] + sql_summary["rate_limit_waits"] == stats["rate_limited"]
    assert stats["query_auth_calls"] == 0


@pytest.fixture
def failing_proxy(keyed_sandbox):
    with FailingLeadsProxy(keyed_sandbox.url) as proxy:
        yield proxy


def test_a_lead_failing_every_retry_fails_the_file_task_naming_it_and_leaves_no_partial_file(
    keyed_sandbox, failing_proxy: FailingLeadsProxy, set_connection, tmp_path: Path
) -> None:
    sandbox, proxy = keyed_sandbox, failing_proxy
    conn_id = set_connection("lsq_failing_lead", proxy.url, max_attempts=3, max_concurrency=2)
    ids = sandbox.lead_ids()[:24]
    bad = ids[20]
    path = tmp_path / "out" / "activities.jsonl"

    def run() -> dict:
        return LeadSquaredActivitiesToObjectStorageOperator(
            task_id="f", lead_ids=ids, path=f"file://{path}", leadsquared_conn_id=conn_id, batch_size=50
        ).execute({})

    proxy.failing = {bad}
    with pytest.raises(LeadSquaredTransientError) as info:
        run()
    assert f"lead {bad}" in str(info.value) and "failed after 3 attempts" in str(info.value)
    assert "HTTP 500" in str(info.value)
    assert proxy.failed[bad] == 3 and proxy.forwarded > 0  # other leads were fetched meanwhile
    assert not path.exists() and leftovers(path.parent, path) == []

    proxy.failing = set()
    run()
    complete = path.read_bytes()
    assert read_jsonl(path) == flattened_truth(sandbox, ids)

    proxy.failing = {bad}
    with pytest.raises(LeadSquaredTransientError, match=bad):
        run()
    assert path.read_bytes() == complete, "the previous complete file must stay as it was"
    assert leftovers(path.parent, path) == []


@pytest.mark.parametrize("database", DATABASES)
def test_a_lead_failing_every_retry_fails_the_sql_task_naming_it_and_leaves_only_whole_rows(
    request, keyed_sandbox, failing_proxy: FailingLeadsProxy, set_connection, table_name: str, database: str
) -> None:
    sandbox, proxy = keyed_sandbox, failing_proxy
    sql_conn_id = request.getfixturevalue(f"{database}_conn_id")
    conn_id = set_connection("lsq_failing_lead", proxy.url, max_attempts=3, max_concurrency=2)
    ids = sandbox.lead_ids()[:24]
    bad = ids[20]

    def run() -> dict:
        return LeadSquaredActivitiesToSqlOperator(
            task_id="s",
            lead_ids=ids,
            conn_id=sql_conn_id,
            table=table_name,
            leadsquared_conn_id=conn_id,
            batch_size=50,
        ).execute({})

    proxy.failing = {bad}
    with pytest.raises(LeadSquaredTransientError) as info:
        run()
    assert f"lead {bad}" in str(info.value) and "failed after 3 attempts" in str(info.value)
    truth = flattened_truth(sandbox, ids)
    partial = as_records(fetch_rows(sql_conn_id, table_name))  # also checks: no activity twice
    assert 0 < len(partial) < len(truth), "batches before the failure are committed, not the rest"
    strictly_equal(partial, {key: truth[key] for key in partial})  # every row whole and exact
    assert not any(record["lead_id"] == bad for record in partial.values())

    proxy.failing = set()
    assert run()["activities"] == len(truth)  # the retry
    strictly_equal(as_records(fetch_rows(sql_conn_id, table_name)), truth)
