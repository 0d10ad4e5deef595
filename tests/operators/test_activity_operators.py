"""The operators' execute() against the sandbox over HTTP, writing real files and tables."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredRecentlyModifiedLeadsOperator,
)


def read_jsonl(path: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows)
    return keyed


def sqlite_ids(conn_id: str, table: str) -> list[str]:
    with sqlite3.connect(BaseHook.get_connection(conn_id).host) as db:
        return [row[0] for row in db.execute(f"SELECT id FROM {table}")]


def test_object_storage_operator_writes_the_truth(activity_sandbox, truth_records, tmp_path: Path) -> None:
    ids = activity_sandbox.lead_ids()
    path = tmp_path / "activities.jsonl"
    op = LeadSquaredActivitiesToObjectStorageOperator(task_id="t", lead_ids=ids, path=f"file://{path}")

    summary = op.execute({})

    truth = truth_records(ids)
    assert read_jsonl(path) == truth
    assert summary["leads"] == 60 and summary["activities"] == len(truth)
    assert summary["location"] == f"file://{path}"
    assert summary["api_calls_today"] >= summary["api_calls"] > 0  # today's count spans every task
    assert "secret" not in json.dumps(summary).lower()
    assert [a.uri for a in op.outlets] == [f"file://{path}"]


def test_lead_id_shapes_and_event_filter(activity_sandbox, truth_records, tmp_path: Path) -> None:
    ids = activity_sandbox.lead_ids()[:6]
    # Nested lists from mapped upstream tasks, a duplicate, upper case: three distinct leads.
    shapes = [[ids[0], [ids[1].upper()]], [ids[0], ids[2]]]
    path = tmp_path / "a.jsonl"
    op = LeadSquaredActivitiesToObjectStorageOperator(task_id="t", lead_ids=shapes, path=str(path), activity_event="22")
    summary = op.execute({})
    assert summary["leads"] == 3
    assert read_jsonl(path) == truth_records(ids[:3], 22)

    op = LeadSquaredActivitiesToObjectStorageOperator(
        task_id="t2", lead_ids=f"{ids[3]},\n{ids[4]} ,{ids[3]}", path=str(path)
    )
    assert op.execute({})["leads"] == 2
    assert read_jsonl(path) == truth_records(ids[3:5])

    # A list rendered as text by a template without native rendering.
    op = LeadSquaredActivitiesToObjectStorageOperator(task_id="t3", lead_ids=str(ids[4:6]), path=str(path))
    assert op.execute({})["leads"] == 2


@pytest.mark.parametrize(
    "lead_ids",
    [["not-a-guid"], [], None, "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf, nope", {"a": 1}, [123]],
)
def test_bad_lead_ids_are_refused_before_any_call(activity_sandbox, tmp_path: Path, lead_ids) -> None:
    good = activity_sandbox.lead_ids()[0]
    payload = [good, lead_ids] if isinstance(lead_ids, list) and lead_ids else lead_ids
    op = LeadSquaredActivitiesToObjectStorageOperator(task_id="t", lead_ids=payload, path=str(tmp_path / "a.jsonl"))
    with pytest.raises(LeadSquaredConfigError):
        op.execute({})
    assert activity_sandbox.stats()["calls"] == 0
    assert list(tmp_path.iterdir()) == []


def test_bad_activity_event_is_refused_before_any_call(activity_sandbox, sqlite_conn_id: str) -> None:
    op = LeadSquaredActivitiesToSqlOperator(
        task_id="t", lead_ids=activity_sandbox.lead_ids()[:2], conn_id=sqlite_conn_id, activity_event="email"
    )
    with pytest.raises(LeadSquaredConfigError, match="activity_event"):
        op.execute({})
    assert activity_sandbox.stats()["calls"] == 0


def test_static_parameters_are_checked_in_init() -> None:
    with pytest.raises(LeadSquaredConfigError, match="identifier"):
        LeadSquaredActivitiesToSqlOperator(task_id="t", lead_ids=[], conn_id="c", table="x; drop table y")
    with pytest.raises(LeadSquaredConfigError, match="file_format"):
        LeadSquaredActivitiesToObjectStorageOperator(task_id="t", lead_ids=[], path="/tmp/a", file_format="xls")


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_sql_operator_upserts_the_truth_idempotently(
    request, activity_sandbox, truth_records, table_name: str, database: str
) -> None:
    conn_id = request.getfixturevalue(f"{database}_conn_id")
    ids = activity_sandbox.lead_ids()
    op = LeadSquaredActivitiesToSqlOperator(
        task_id="t", lead_ids=ids, conn_id=conn_id, table=table_name, batch_size=700
    )
    first = op.execute({})
    second = op.execute({})  # a retry or rerun of the same leads

    truth = truth_records(ids)
    assert first["activities"] == second["activities"] == len(truth)
    hook = BaseHook.get_hook(conn_id)
    rows = hook.get_records(f"SELECT id, lead_id, event_code FROM {table_name}")
    assert sorted(rows) == sorted((k, r["lead_id"], r["event_code"]) for k, r in truth.items())
    assert [a.uri for a in op.outlets] == [f"leadsquared-sql://{conn_id}/{table_name}"]


def test_sql_operator_with_a_bad_connection_fails_before_any_call(activity_sandbox, tmp_path: Path) -> None:
    op = LeadSquaredActivitiesToSqlOperator(
        task_id="t", lead_ids=activity_sandbox.lead_ids()[:3], conn_id="leadsquared_default"
    )
    with pytest.raises(LeadSquaredConfigError, match="not a SQL"):
        op.execute({})
    assert activity_sandbox.stats()["calls"] == 0


def test_recently_modified_leads_in_batches(activity_sandbox) -> None:
    op = LeadSquaredRecentlyModifiedLeadsOperator(
        task_id="t", from_date="2025-01-03T00:00:00+00:00", to_date="2025-01-06 00:00:00+00:00", batch_size=4
    )
    batches = op.execute({})
    expected = activity_sandbox.leads_modified("2025-01-03 00:00:00", "2025-01-05 23:59:59")
    assert [i for b in batches for i in b] == expected and expected
    assert all(len(b) <= 4 for b in batches) and all(batches)


def test_recently_modified_refuses_a_bad_date(activity_sandbox) -> None:
    op = LeadSquaredRecentlyModifiedLeadsOperator(task_id="t", from_date="yesterday-ish", to_date="2025-01-06")
    with pytest.raises(LeadSquaredConfigError, match="from_date"):
        op.execute({})
    assert activity_sandbox.stats()["calls"] == 0
