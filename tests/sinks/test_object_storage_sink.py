"""The object storage sink against real files: every format round-trips the sandbox's truth."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from airflow.sdk import ObjectStoragePath
from airflow.sdk.io import attach
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import COLUMNS, JSON_COLUMNS
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink, asset_for_path

FORMATS = ("jsonl", "csv", "parquet")


def read_back(data: bytes, file_format: str) -> list[dict[str, Any]]:
    """Read a written file with plain libraries, back into records shaped like the truth."""
    if file_format == "jsonl":
        return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]
    if file_format == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
        for row in rows:
            for column in JSON_COLUMNS:
                row[column] = json.loads(row[column]) if row[column] else None
        return rows
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    for row in rows:
        for column, value in row.items():
            if column in JSON_COLUMNS:
                row[column] = None if value is None else json.loads(value)
            elif isinstance(value, datetime):
                row[column] = value.strftime("%Y-%m-%d %H:%M:%S")
    return rows


def as_csv_text(record: dict[str, Any]) -> dict[str, Any]:
    """What a CSV reader gets back for a record: text, except the JSON columns."""

    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return {c: record[c] if c in JSON_COLUMNS else text(record[c]) for c in COLUMNS}


def expected(records: dict[str, dict[str, Any]], file_format: str) -> dict[str, dict[str, Any]]:
    if file_format == "csv":
        return {key: as_csv_text(record) for key, record in records.items()}
    return records


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows), "an activity was written twice"
    return keyed


def failing_after(records: list[dict[str, Any]], count: int) -> Iterator[dict[str, Any]]:
    yield from records[:count]
    raise RuntimeError("the API went away")


@pytest.fixture
def truth(activity_sandbox, truth_records) -> dict[str, dict[str, Any]]:
    # Every lead: includes the two with more than a thousand activities and every data shape.
    return truth_records(activity_sandbox.lead_ids())


@pytest.mark.parametrize("file_format", FORMATS)
def test_round_trip_equals_ground_truth(tmp_path: Path, truth, file_format: str) -> None:
    path = tmp_path / "out" / f"activities.{file_format}"
    sink = ObjectStorageSink(f"file://{path}", file_format=file_format, batch_size=500)

    written = sink.write(iter(truth.values()))

    assert written == len(truth) > 5000
    assert by_id(read_back(path.read_bytes(), file_format)) == expected(truth, file_format)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "a temporary file was left"


@pytest.mark.parametrize("file_format", FORMATS)
def test_rewrite_replaces_the_file(tmp_path: Path, truth, file_format: str) -> None:
    path = tmp_path / f"activities.{file_format}"
    sink = ObjectStorageSink(str(path), file_format=file_format)
    records = list(truth.values())
    sink.write(records)

    sink.write(records[:10])

    assert by_id(read_back(path.read_bytes(), file_format)) == expected({r["id"]: r for r in records[:10]}, file_format)


@pytest.mark.parametrize("file_format", FORMATS)
def test_failure_mid_write_keeps_the_previous_complete_file(tmp_path: Path, truth, file_format: str) -> None:
    path = tmp_path / f"activities.{file_format}"
    records = list(truth.values())
    ObjectStorageSink(f"file://{path}", file_format=file_format).write(records[:100])
    before = path.read_bytes()

    with pytest.raises(RuntimeError, match="went away"):
        ObjectStorageSink(f"file://{path}", file_format=file_format, batch_size=50).write(failing_after(records, 1000))

    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "a temporary file was left"


def test_failure_on_first_write_leaves_no_file(tmp_path: Path, truth) -> None:
    path = tmp_path / "day" / "activities.jsonl"
    with pytest.raises(RuntimeError):
        ObjectStorageSink(f"file://{path}").write(failing_after(list(truth.values()), 1500))
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_parquet_is_written_in_row_groups_of_the_batch_size(tmp_path: Path, truth) -> None:
    path = tmp_path / "activities.parquet"
    ObjectStorageSink(str(path), file_format="parquet", batch_size=1000).write(iter(truth.values()))
    metadata = pq.ParquetFile(path).metadata
    assert metadata.num_row_groups == math.ceil(len(truth) / 1000)
    assert max(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)) == 1000


@pytest.mark.parametrize("file_format", FORMATS)
def test_no_activities_still_gives_a_complete_file(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / f"empty.{file_format}"
    assert ObjectStorageSink(str(path), file_format=file_format).write([]) == 0
    assert read_back(path.read_bytes(), file_format) == []


@pytest.fixture(scope="module")
def memory_store() -> None:
    # fsspec's in-memory file system stands in for S3/GCS: the same code path (spool, then one
    # upload) on a store whose paths are not local files.
    attach("memory", fs=MemoryFileSystem())


@pytest.mark.usefixtures("memory_store")
@pytest.mark.parametrize("file_format", FORMATS)
def test_object_store_gets_one_complete_upload(truth, file_format: str) -> None:
    url = f"memory://leadact-test/{file_format}/activities.{file_format}"
    records = list(truth.values())
    ObjectStorageSink(url, file_format=file_format).write(records)
    target = ObjectStoragePath(url)
    assert by_id(read_back(target.read_bytes(), file_format)) == expected(truth, file_format)

    with pytest.raises(RuntimeError):
        ObjectStorageSink(url, file_format=file_format).write(failing_after(records, 2000))
    assert by_id(read_back(target.read_bytes(), file_format)) == expected(truth, file_format)

    fresh = f"memory://leadact-test/{file_format}/never.{file_format}"
    with pytest.raises(RuntimeError):
        ObjectStorageSink(fresh, file_format=file_format).write(failing_after(records, 2000))
    assert not ObjectStoragePath(fresh).exists()


@pytest.mark.parametrize("bad", ["xml", "", "parquet2"])
def test_unknown_format_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(LeadSquaredConfigError, match="file_format"):
        ObjectStorageSink(str(tmp_path / "a"), file_format=bad)


def test_asset_names_the_folder_before_the_template() -> None:
    assert asset_for_path("file:///data/ls/{{ ds }}/part.jsonl").uri == "file:///data/ls"
    assert asset_for_path("s3://aws_default@bucket/ls/day={{ ds }}/a.parquet").uri == "s3://bucket/ls"
    assert asset_for_path("file:///data/ls/all.jsonl").uri == "file:///data/ls/all.jsonl"
