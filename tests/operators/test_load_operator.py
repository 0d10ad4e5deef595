"""Loading written activity files into SQL, and pruning part files a rerun did not write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.operators.load import LeadSquaredActivityFilesToSqlOperator, file_urls
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink, remove_stale_files


@pytest.fixture
def parts(activity_sandbox, truth_records, tmp_path: Path) -> tuple[list[dict], dict]:
    """Two part files as the mapped fetch writes them, and the summaries it returns."""
    ids = activity_sandbox.lead_ids()[:8]
    summaries = []
    for index, batch in enumerate((ids[:4], ids[4:])):
        url = f"file://{tmp_path}/part-{index:05d}.jsonl"
        count = ObjectStorageSink(url).write(truth_records(batch).values())
        summaries.append({"leads": len(batch), "activities": count, "location": url})
    return summaries, truth_records(ids)


def test_files_load_into_sql_and_reload_without_duplicates(parts, sqlite_conn_id: str, table_name: str) -> None:
    summaries, truth = parts
    op = LeadSquaredActivityFilesToSqlOperator(
        task_id="load", paths=[summaries], conn_id=sqlite_conn_id, table=table_name, batch_size=100
    )
    assert op.execute({})["activities"] == len(truth)
    assert op.execute({})["files"] == 2

    rows = BaseHook.get_hook(sqlite_conn_id).get_records(f"SELECT id, lead_id, activity_fields FROM {table_name}")
    assert sorted((r[0], r[1], json.loads(r[2])) for r in rows) == sorted(
        (k, r["lead_id"], r["activity_fields"]) for k, r in truth.items()
    )


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_every_written_format_loads_to_the_same_rows(
    activity_sandbox, truth_records, tmp_path: Path, sqlite_conn_id: str, table_name: str, file_format: str
) -> None:
    truth = truth_records(activity_sandbox.lead_ids()[:8])
    hook = BaseHook.get_hook(sqlite_conn_id)
    tables = {}
    for fmt in ("jsonl", file_format):
        url = f"file://{tmp_path}/part-00000.{fmt}"
        ObjectStorageSink(url, file_format=fmt).write(truth.values())
        tables[fmt] = f"{table_name}_{fmt}"
        LeadSquaredActivityFilesToSqlOperator(
            task_id="load", paths=[url], conn_id=sqlite_conn_id, table=tables[fmt]
        ).execute({})
    # Same rows whichever format the files were written in, JSON columns included; text
    # columns compared with None as "" (CSV cannot tell them apart).
    jsonl, other = (
        sorted(tuple("" if v is None else v for v in row) for row in hook.get_records(f"SELECT * FROM {tables[fmt]}"))
        for fmt in ("jsonl", file_format)
    )
    assert len(jsonl) == len(truth)
    assert other == jsonl


def test_unknown_files_are_refused(sqlite_conn_id: str) -> None:
    op = LeadSquaredActivityFilesToSqlOperator(task_id="load", paths=["file:///x/a.xlsx"], conn_id=sqlite_conn_id)
    with pytest.raises(LeadSquaredConfigError, match="only files written by the object storage operator"):
        op.execute({})


def test_file_urls_accepts_summaries_urls_and_nesting() -> None:
    assert file_urls([[{"location": "file:///a"}], "file:///b", "file:///a", None]) == ["file:///a", "file:///b"]
    assert file_urls(None) == []


def test_remove_stale_files_keeps_this_runs_parts(parts, tmp_path: Path) -> None:
    summaries, _ = parts
    (tmp_path / "part-00002.jsonl").write_text("{}\n")
    (tmp_path / "notes.txt").write_text("not a part file\n")

    removed = remove_stale_files(f"file://{tmp_path}", file_urls(summaries))

    assert removed == [f"file://{tmp_path}/part-00002.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "part-00000.jsonl", "part-00001.jsonl"]
    assert remove_stale_files(f"file://{tmp_path}/missing", []) == []
