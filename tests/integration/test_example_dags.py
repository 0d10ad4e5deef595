"""The example DAGs: they import cleanly, and dag.test() runs them against the sandbox.

Since Airflow 3.1 dag.test() runs only DAGs serialized in the metadata DB under a bundle, so
the set-up migrates a fresh metadata DB, points the DAGs folder at example_dags and syncs it
as the DAG processor would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.support.airflow_env import synced_dags_folder

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
DAG_IDS = {"leadsquared_activities_daily", "leadsquared_activities_manual"}


def test_example_dags_import_without_errors(airflow_env) -> None:
    bag = airflow_env["bag"]
    assert bag.import_errors == {}
    assert DAG_IDS <= set(bag.dag_ids)
    daily = bag.get_dag("leadsquared_activities_daily")
    assert type(daily.timetable).__name__ == "CronDataIntervalTimetable"
    assert daily.max_active_runs and all(t.retries for t in daily.tasks)
    assert {daily.get_task(t).pool for t in ("modified_leads", "fetch_activities")} == {"leadsquared_api"}
    manual = bag.get_dag("leadsquared_activities_manual")
    assert set(manual.params.keys()) == {"lead_ids", "activity_event"}


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, activity_sandbox_connection: str) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("dags-e2e")
    env = {
        "LEADACT_BASE_PATH": f"file://{root / 'data'}",
        "LEADACT_LEADS_PER_BATCH": "3",
        "AIRFLOW_CONN_LEADACT_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(root / "leadact.db")}),
        "AIRFLOW_CONN_LEADSQUARED_DEFAULT": activity_sandbox_connection,
    }
    with synced_dags_folder(EXAMPLE_DAGS, env) as bag:
        from airflow.models.pool import Pool

        Pool.create_or_update_pool("leadsquared_api", slots=4, description="LeadSquared API", include_deferred=False)
        yield {"bag": bag, "root": root, "db": root / "leadact.db"}


def asset_events() -> list[tuple[str, dict]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetModel.uri, AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
        return [(uri, extra) for uri, extra in session.execute(query)]


def table_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT id, lead_id, modified_on, data FROM leadsquared_activities").fetchall()


@pytest.mark.e2e
def test_daily_dag_writes_the_truth_and_reruns_idempotently(airflow_env, activity_sandbox, truth_records) -> None:
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = airflow_env["bag"].get_dag("leadsquared_activities_daily")
    day = pendulum.datetime(2025, 1, 8, tz="UTC")
    interval = CronDataIntervalTimetable("0 0 * * *", timezone="UTC").infer_manual_data_interval(run_after=day)
    last = interval.end - timedelta(seconds=1)
    leads = activity_sandbox.leads_modified(f"{interval.start:%Y-%m-%d %H:%M:%S}", f"{last:%Y-%m-%d %H:%M:%S}")
    truth = truth_records(leads)
    assert len(leads) > 3, "the interval should need several mapped tasks"

    partition = airflow_env["root"] / "data" / "activities" / f"interval_start={interval.start:%Y%m%dT%H%M%S}"
    stale = partition / "part-00099.jsonl"
    for attempt in range(2):
        if attempt:
            stale.write_text('{"id": "left by an earlier run"}\n')
        run = dag.test(logical_date=day)
        assert str(run.state) == "success", f"attempt {attempt}"
        files = sorted(partition.glob("part-*.jsonl"))
        assert len(files) == -(-len(leads) // 3)
        assert not stale.exists()
        written = [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines()]
        assert len(written) == len(truth)
        assert {r["id"]: r for r in written} == truth
        rows = table_rows(airflow_env["db"])
        assert sorted((r[0], r[1], r[2]) for r in rows) == sorted(
            (k, r["lead_id"], r["modified_on"]) for k, r in truth.items()
        )
        assert {r[0]: json.loads(r[3]) for r in rows} == {k: r["data"] for k, r in truth.items()}

    # Each mapped fetch emitted an event of the files' Asset, carrying its summary, and the
    # load one of the table's: downstream DAGs can be scheduled on either.
    events = asset_events()
    files_asset = f"file://{airflow_env['root'] / 'data' / 'activities'}"
    fetched = [e for e in events if e[0] == files_asset]
    assert len(fetched) == 2 * len(files)
    assert sum(e[1]["activities"] for e in fetched) == 2 * len(truth)
    assert "leadsquared-sql://leadact_sqlite/leadsquared_activities" in {e[0] for e in events}


@pytest.mark.e2e
def test_manual_dag_with_params(airflow_env, activity_sandbox, truth_records) -> None:
    dag = airflow_env["bag"].get_dag("leadsquared_activities_manual")
    ids = activity_sandbox.lead_ids()[:5]
    before = {r[0] for r in table_rows(airflow_env["db"])} if airflow_env["db"].exists() else set()
    run = dag.test(run_conf={"lead_ids": "\n".join(ids), "activity_event": 22})
    assert str(run.state) == "success"
    truth = truth_records(ids, 22)
    files = list((airflow_env["root"] / "data" / "manual").glob("*/activities.jsonl"))
    assert len(files) == 1
    assert {r["id"]: r for r in map(json.loads, files[0].read_text("utf-8").splitlines())} == truth
    assert {r[0] for r in table_rows(airflow_env["db"])} == before | set(truth)


@pytest.mark.e2e
def test_daily_dag_on_an_interval_without_changes(airflow_env, activity_sandbox) -> None:
    dag = airflow_env["bag"].get_dag("leadsquared_activities_daily")
    day = pendulum.datetime(2025, 3, 2, tz="UTC")
    partition = airflow_env["root"] / "data" / "activities" / "interval_start=20250301T000000"
    partition.mkdir(parents=True)
    (partition / "part-00000.jsonl").write_text("{}\n")  # from a run when a lead still fell here

    run = dag.test(logical_date=day)

    assert str(run.state) == "success"
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states == {
        "modified_leads": "success",
        "fetch_activities": "skipped",
        "load_to_sql": "skipped",
        "prune_stale_parts": "success",
    }
    assert list(partition.iterdir()) == []
