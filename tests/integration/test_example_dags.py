"""The example DAGs: they import cleanly, and dag.test() runs them against the sandbox.

The daily DAG's contract: the partition of a data interval holds exactly the activities whose
ModifiedOn lies in ``[data_interval_start, data_interval_end)`` (the sandbox's
``truth_changed``), as the API shows them when the run runs: on time, rerun, retried under
faults, after a killed task, or run after later intervals. The table holds each activity once,
with its latest landed values.

Since Airflow 3.1 dag.test() runs only DAGs serialized in the metadata DB under a bundle, so
the set-up migrates a fresh metadata DB, points the DAGs folder at example_dags and syncs it
as the DAG processor would.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pendulum
import pytest

from tests.support.airflow_env import EXAMPLE_DAGS, example_dags_env
from tests.support.killed_runs import run_dag_test_and_kill
from tests.support.truth import flattened_changed

WINDOW_HOURS = 8  # three mapped fetch tasks a day
DAG_IDS = {"leadsquared_activities_daily", "leadsquared_activities_history", "leadsquared_activities_manual"}


def test_example_dags_import_without_errors(airflow_env) -> None:
    bag = airflow_env["bag"]
    assert bag.import_errors == {}
    assert DAG_IDS <= set(bag.dag_ids)
    daily = bag.get_dag("leadsquared_activities_daily")
    assert type(daily.timetable).__name__ == "CronDataIntervalTimetable"
    assert daily.max_active_runs and all(t.retries for t in daily.tasks)
    assert daily.get_task("fetch_activities").pool == "leadsquared_api"
    assert daily.get_task("interval_windows").pool != "leadsquared_api"  # it makes no API call
    history = bag.get_dag("leadsquared_activities_history")
    assert type(history.timetable).__name__ == "NullTimetable"  # triggered, never scheduled
    assert {history.get_task(t).pool for t in ("history_windows", "fetch_history")} == {"leadsquared_api"}
    assert set(history.params.keys()) == {"from_date", "to_date"}
    manual = bag.get_dag("leadsquared_activities_manual")
    assert set(manual.params.keys()) == {"lead_ids", "activity_event"}


def test_example_dags_import_only_the_public_face() -> None:
    # What a DAG author copies must not reach into internals.
    for path in EXAMPLE_DAGS.glob("*.py"):
        text = path.read_text("utf-8")
        imports = [line for line in text.splitlines() if "airflow_provider_leadact" in line and "import" in line]
        public = tuple(
            f"from airflow_provider_leadact.{m} import"
            for m in ("operators", "airflow_compat", "example_dags.leadsquared_settings")
        )
        assert all(line.startswith(public) for line in imports), path


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, activity_sandbox_connection: str) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("dags-e2e")
    with example_dags_env(root, activity_sandbox_connection, WINDOW_HOURS) as env:
        yield env


@pytest.fixture
def sandbox(activity_sandbox) -> Iterator[Any]:
    yield activity_sandbox
    activity_sandbox.reset()


def asset_events() -> list[tuple[str, dict]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(AssetModel.uri, AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
        return [(uri, extra) for uri, extra in session.execute(query)]


def table_rows(db: Path) -> dict[str, tuple]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, lead_id, modified_on, activity_score, data FROM leadsquared_activities")
        return {row[0]: row[1:] for row in rows}


def partition(env: dict[str, Any], start: datetime) -> Path:
    return env["root"] / "data" / "activities" / f"interval_start={start:%Y%m%dT%H%M%S}"


def read_partition(folder: Path) -> dict[str, dict]:
    rows = [json.loads(line) for f in sorted(folder.glob("part-*.jsonl")) for line in f.read_text("utf-8").splitlines()]
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows), "an activity written twice"
    return keyed


def run_interval(env: dict[str, Any], start: datetime) -> Any:
    """Run the daily DAG for the data interval starting at ``start`` (its run is the next day)."""
    run = (
        env["bag"]
        .get_dag("leadsquared_activities_daily")
        .test(logical_date=pendulum.instance(start + timedelta(days=1), tz="UTC"))
    )
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    return run


def assert_interval(env: dict[str, Any], sb: Any, start: datetime) -> dict[str, dict]:
    """The partition equals the interval's truth; the table holds those activities as they are."""
    truth = flattened_changed(sb, start, start + timedelta(days=1))
    assert read_partition(partition(env, start)) == truth
    rows = table_rows(env["db"])
    for key, record in truth.items():
        assert rows[key][:3] == (record["lead_id"], record["modified_on"], record["activity_score"]), key
        assert json.loads(rows[key][3]) == record["data"]
    return truth


def busy_days(sb: Any) -> list[datetime]:
    return [datetime.fromisoformat(day) for day in sb.history_days()]


@pytest.mark.e2e
def test_daily_partitions_hold_exactly_their_interval_in_any_order(airflow_env, sandbox) -> None:
    days = busy_days(sandbox)
    first, middle, last = days[2], days[len(days) // 2], days[-2]
    sizes = []
    for day in (last, first, middle):  # past intervals run after later ones, as a backfill does
        run_interval(airflow_env, day)
        truth = assert_interval(airflow_env, sandbox, day)
        sizes.append(len(truth))
        assert len(list(partition(airflow_env, day).glob("part-*"))) == 24 // WINDOW_HOURS
    assert min(sizes) > 20, "the intervals should hold many changes"

    # Each mapped fetch emitted an event of the files' Asset, and the load one of the table's.
    events = asset_events()
    files_asset = f"file://{airflow_env['root'] / 'data' / 'activities'}"
    assert sum(e[1]["activities"] for e in events if e[0] == files_asset) == sum(sizes)
    assert "leadsquared-sql://leadact_sqlite/leadsquared_activities" in {e[0] for e in events}


@pytest.mark.e2e
def test_a_rerun_after_later_edits_moves_activities_to_their_new_interval(airflow_env, sandbox) -> None:
    days = busy_days(sandbox)
    early, late = days[3], days[-1]
    run_interval(airflow_env, early)
    before = assert_interval(airflow_env, sandbox, early)

    # Activities of the early day are edited on the late day; a part left by an earlier run.
    moved = sorted(before)[:5]
    for key in moved:
        lead = before[key]["lead_id"]
        sandbox.edit_activities(1, at=late + timedelta(hours=12), lead_id=lead)
    stale = partition(airflow_env, early) / "part-00099.jsonl"
    stale.write_text('{"id": "left by an earlier run"}\n')

    run_interval(airflow_env, early)  # the backfill or rerun of the early day
    after = assert_interval(airflow_env, sandbox, early)
    assert not stale.exists()
    left = set(before) - set(after)
    assert left, "some activities of the early day were edited later"
    run_interval(airflow_env, late)
    late_truth = assert_interval(airflow_env, sandbox, late)
    assert left <= set(late_truth)
    rows = table_rows(airflow_env["db"])
    assert all(rows[key][1] == late_truth[key]["modified_on"] for key in left)  # the latest values


@pytest.mark.e2e
def test_a_run_under_faults_is_retried_to_the_exact_interval(airflow_env, sandbox) -> None:
    day = busy_days(sandbox)[4]
    sandbox.configure(fault_500=0.08, fault_503=0.05, fault_truncated=0.03, fault_drop=0.02, range_max_page_size=20)
    run_interval(airflow_env, day)
    assert sum(sandbox.stats()["faults"].values()) > 0
    assert_interval(airflow_env, sandbox, day)


@pytest.mark.e2e
def test_a_killed_fetch_run_again_gives_the_exact_interval(airflow_env, sandbox, tmp_path: Path) -> None:
    day = busy_days(sandbox)[5]
    folder = partition(airflow_env, day)
    sandbox.configure(latency=0.05)  # slow enough that the kill lands while a part is written
    returncode = run_dag_test_and_kill(
        EXAMPLE_DAGS,
        "leadsquared_activities_daily",
        day + timedelta(days=1),
        lambda: folder.exists() and any(folder.glob(".part-*.tmp")),
        tmp_path / "killed.log",
    )
    assert returncode == -signal.SIGKILL
    assert any(folder.glob(".part-*.tmp"))  # what SIGKILL leaves: never a part at its final name

    sandbox.configure(latency=0.0)
    run_interval(airflow_env, day)
    assert_interval(airflow_env, sandbox, day)
    assert not list(folder.glob(".*.tmp"))


@pytest.mark.e2e
def test_daily_dag_on_an_interval_without_changes(airflow_env, sandbox) -> None:
    day = datetime(2025, 3, 1)
    folder = partition(airflow_env, day)
    folder.mkdir(parents=True)
    (folder / "part-00000.jsonl").write_text("{}\n")  # from a run when an activity still fell here

    run = run_interval(airflow_env, day)

    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert set(states.values()) == {"success"}
    assert read_partition(folder) == {}  # each window's part is written, empty; the stale content is gone
    assert len(list(folder.glob("part-*"))) == 24 // WINDOW_HOURS


@pytest.mark.e2e
def test_history_dag_loads_every_activity_in_windows_and_reruns_idempotently(
    airflow_env, sandbox, truth_records
) -> None:
    dag = airflow_env["bag"].get_dag("leadsquared_activities_history")
    truth = truth_records(sandbox.lead_ids())
    pages = -(-len(truth) // 1000)
    for _ in range(2):
        sandbox.reset_stats()
        run = dag.test()  # From 2000-01-01 (the default) to the run's time
        assert str(run.state) == "success"
        mapped = [ti for ti in run.get_task_instances() if ti.task_id == "fetch_history"]
        # Empty years before the data and months after it cost nothing: the data's 14 days
        # are one or two windows, and the whole load costs about its pages.
        assert 1 <= len(mapped) <= 2
        assert sandbox.stats()["calls"] <= 1.1 * pages + len(mapped) + 5
        rows = table_rows(airflow_env["db"])
        assert {k: rows[k][:3] for k in truth} == {
            k: (r["lead_id"], r["modified_on"], r["activity_score"]) for k, r in truth.items()
        }
        assert set(rows) == set(truth)


@pytest.mark.e2e
def test_history_dag_refuses_a_range_in_the_future(airflow_env, sandbox) -> None:
    dag = airflow_env["bag"].get_dag("leadsquared_activities_history")
    run = dag.test(run_conf={"from_date": "2025-01-01T00:00:00+00:00", "to_date": "2999-01-01T00:00:00+00:00"})
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["history_windows"] == "failed"
    assert sandbox.stats()["calls"] == 0


@pytest.mark.e2e
def test_manual_dag_with_params(airflow_env, sandbox, truth_records) -> None:
    dag = airflow_env["bag"].get_dag("leadsquared_activities_manual")
    ids = sandbox.lead_ids()[:5]
    before = set(table_rows(airflow_env["db"])) if airflow_env["db"].exists() else set()
    run = dag.test(run_conf={"lead_ids": "\n".join(ids), "activity_event": 22})
    assert str(run.state) == "success"
    truth = truth_records(ids, 22)
    files = list((airflow_env["root"] / "data" / "manual").glob("*/activities.jsonl"))
    assert len(files) == 1
    assert {r["id"]: r for r in map(json.loads, files[0].read_text("utf-8").splitlines())} == truth
    assert set(table_rows(airflow_env["db"])) == before | set(truth)


@pytest.mark.e2e
def test_a_first_load_larger_than_the_daily_cap_waits_for_the_reset(
    airflow_env, sandbox, truth_records, monkeypatch, tmp_path: Path
) -> None:
    """A load that needs more calls than the day allows defers at the cap and finishes the next UTC day.

    The clock is the test's: time-machine starts it a minute before midnight, and it runs on.
    """
    import time_machine

    from tests.support.connections import connection_json

    cap, used_elsewhere = 15, 12
    budget = tmp_path / "budget"
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEADSQUARED_DEFAULT",
        connection_json(sandbox, daily_call_cap=cap, rate_limit_backend=f"file:{budget}"),
    )
    dag = airflow_env["bag"].get_dag("leadsquared_activities_history")
    truth = truth_records(sandbox.lead_ids())
    midnight = datetime(2026, 3, 2, tzinfo=pendulum.UTC)
    with time_machine.travel(midnight - timedelta(seconds=20), tick=True):
        # Other integrations of the account used most of the day's calls already.
        from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

        hook = LeadSquaredHook()
        for _ in range(used_elsewhere):
            hook.client.budget.acquire()
        run = dag.test(run_conf={"from_date": "2025-01-01T00:00:00+00:00", "to_date": "2025-02-01T00:00:00+00:00"})
        finished = datetime.now(pendulum.UTC)
    assert str(run.state) == "success"
    assert finished > midnight  # it went on after the reset
    rows = table_rows(airflow_env["db"])
    assert {k: rows[k][:3] for k in truth} == {
        k: (r["lead_id"], r["modified_on"], r["activity_score"]) for k, r in truth.items()
    }
    # The cap held: 3 calls before midnight, the rest the next day, never above the cap.
    state = json.loads(next(budget.glob("leadact-budget-*.json")).read_text())
    assert state["day"] == "2026-03-02" and 0 < state["day_calls"] <= cap
    assert sandbox.stats()["calls"] == cap - used_elsewhere + state["day_calls"]


def test_example_dags_parse_in_a_plain_dagbag_and_copy_from_the_wheel(tmp_path: Path) -> None:
    """As ``airflow dags list --local`` and CI checks parse them: no folder on sys.path."""
    import subprocess
    import sys

    from airflow_provider_leadact.sandbox.cli import main

    assert main(["example-dags", str(tmp_path / "dags")]) == 0
    copied = sorted(p.name for p in (tmp_path / "dags").iterdir())
    assert copied == sorted(p.name for p in EXAMPLE_DAGS.glob("leadsquared_activities_*.py"))
    assert main(["example-dags", str(tmp_path / "dags")]) == 2  # kept unless --force
    script = (
        "import sys\n"
        "try:\n    from airflow.dag_processing.dagbag import DagBag\n"
        "except ImportError:  # Airflow 3.1\n    from airflow.models.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(sorted(bag.dag_ids), len(bag.import_errors))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "dags")],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout  # fmt: skip
    assert out.strip().splitlines()[-1] == f"{sorted(DAG_IDS)} 0"
