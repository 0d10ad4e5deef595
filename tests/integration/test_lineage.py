"""OpenLineage: each example DAG, run with the OpenLineage provider and its file transport, reports
what its tasks read (the LeadSquared endpoint, the files) and wrote (files, tables), with the
record columns and the rows written.

The runs are real ``dag.test()`` runs in a fresh process (see :mod:`tests.support.openlineage_runs`),
so the events are the ones the provider's listener emits, not a call of the operators' method.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pendulum
import pytest

from airflow_provider_leadact.activity_types import FIELD_COLUMNS, TYPE_COLUMNS
from airflow_provider_leadact.records import RECORD_COLUMNS
from tests.support.airflow_env import EXAMPLE_DAGS, example_dags_env
from tests.support.openlineage_runs import completed, run_with_openlineage
from tests.support.truth import flattened_changed

WINDOW_HOURS = 8  # three mapped fetch tasks a day
LISTING = "ProspectActivity.svc/RetrieveRecentlyModified"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, activity_sandbox_connection: str) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("lineage-e2e")
    with example_dags_env(root, activity_sandbox_connection, WINDOW_HOURS) as env:
        yield {**env, "events": root / "events.jsonl"}


@pytest.fixture
def sandbox(activity_sandbox) -> Iterator[Any]:
    yield activity_sandbox
    activity_sandbox.reset()


def source(sandbox: Any, endpoint: str) -> dict[str, str]:
    return {"namespace": f"leadsquared://{urlsplit(sandbox.account_url).netloc}", "name": endpoint}


def table(env: dict[str, Any], name: str) -> dict[str, str]:
    # SQLite's hook has no OpenLineage database info: the connection's conn_type://host.
    return {"namespace": f"sqlite://{env['db']}", "name": name}


def named(datasets: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"namespace": d["namespace"], "name": d["name"]} for d in datasets]


def rows(dataset: dict[str, Any]) -> int:
    return dataset["outputFacets"]["outputStatistics"]["rowCount"]


def schema(dataset: dict[str, Any]) -> list[tuple[str, str]]:
    return [(field["name"], field["type"]) for field in dataset["facets"]["schema"]["fields"]]


RECORD_SCHEMA = [(c.name, c.type.value) for c in RECORD_COLUMNS]


def assert_no_key(events: list[dict[str, Any]], sandbox: Any) -> None:
    text = json.dumps(events)
    assert sandbox.config.access_key not in text and sandbox.config.secret_key not in text


def test_daily_dag_reports_the_listing_read_the_parts_written_and_the_table_loaded(airflow_env, sandbox) -> None:
    day = datetime.fromisoformat(sandbox.history_days()[3])
    state, events = run_with_openlineage(
        EXAMPLE_DAGS,
        "leadsquared_activities_daily",
        airflow_env["events"],
        logical_date=pendulum.instance(day + timedelta(days=1), tz="UTC"),
    )
    assert state["run"] == "success", state
    truth = flattened_changed(sandbox, day, day + timedelta(days=1))
    assert len(truth) > 20
    folder = airflow_env["root"] / "data" / "activities" / f"interval_start={day:%Y%m%dT%H%M%S}"
    parts = sorted(str(path) for path in folder.glob("part-*.jsonl"))

    # Cutting the day into windows reads nothing (skip_empty=False).
    (plan,) = completed(events, "leadsquared_activities_daily.interval_windows")
    assert plan["inputs"] == [] and plan["outputs"] == []

    # One COMPLETE event per mapped fetch: the listing read, its part written, its rows.
    fetches = completed(events, "leadsquared_activities_daily.fetch_activities")
    assert len(fetches) == 24 // WINDOW_HOURS
    for event in fetches:
        assert named(event["inputs"]) == [source(sandbox, LISTING)]
        (output,) = event["outputs"]
        assert output["namespace"] == "file" and output["name"] in parts
        assert schema(output) == RECORD_SCHEMA
    assert sorted(e["outputs"][0]["name"] for e in fetches) == parts
    assert sum(rows(e["outputs"][0]) for e in fetches) == len(truth)

    # The load: the parts in, the table out, every activity of the interval.
    (load,) = completed(events, "leadsquared_activities_daily.load_to_sql")
    assert sorted(d["name"] for d in load["inputs"]) == parts
    assert {d["namespace"] for d in load["inputs"]} == {"file"}
    (output,) = load["outputs"]
    assert named([output]) == [table(airflow_env, "leadsquared_activities")]
    assert schema(output) == RECORD_SCHEMA and rows(output) == len(truth)

    # The catalogue: its endpoint in, both tables out with their own columns.
    (types,) = completed(events, "leadsquared_activities_daily.activity_types")
    assert named(types["inputs"]) == [source(sandbox, "ProspectActivity.svc/ActivityTypes.Get")]
    assert named(types["outputs"]) == [
        table(airflow_env, "leadsquared_activity_types"),
        table(airflow_env, "leadsquared_activity_type_fields"),
    ]
    assert [schema(d) for d in types["outputs"]] == [
        [(c.name, c.type.value) for c in TYPE_COLUMNS],
        [(c.name, c.type.value) for c in FIELD_COLUMNS],
    ]
    assert rows(types["outputs"][0]) > 0
    assert_no_key(events, sandbox)


def test_history_dag_reports_the_listing_read_and_the_table_written(airflow_env, sandbox, truth_records) -> None:
    state, events = run_with_openlineage(EXAMPLE_DAGS, "leadsquared_activities_history", airflow_env["events"])
    assert state["run"] == "success", state
    truth = truth_records(sandbox.lead_ids())
    # Planning reads the listing (where the changes lie); the windows go to XCom.
    (plan,) = completed(events, "leadsquared_activities_history.history_windows")
    assert named(plan["inputs"]) == [source(sandbox, LISTING)] and plan["outputs"] == []
    fetches = completed(events, "leadsquared_activities_history.fetch_history")
    assert fetches
    for event in fetches:
        assert named(event["inputs"]) == [source(sandbox, LISTING)]
        assert named(event["outputs"]) == [table(airflow_env, "leadsquared_activities")]
        assert schema(event["outputs"][0]) == RECORD_SCHEMA
    assert sum(rows(e["outputs"][0]) for e in fetches) == len(truth)
    assert_no_key(events, sandbox)


def test_manual_dag_reports_the_per_lead_read_the_file_and_its_load(airflow_env, sandbox, truth_records) -> None:
    ids = sandbox.lead_ids()[:5]
    state, events = run_with_openlineage(
        EXAMPLE_DAGS,
        "leadsquared_activities_manual",
        airflow_env["events"],
        conf={"lead_ids": "\n".join(ids), "activity_event": 22},
    )
    assert state["run"] == "success", state
    truth = truth_records(ids, 22)
    (to_file,) = completed(events, "leadsquared_activities_manual.to_file")
    assert named(to_file["inputs"]) == [source(sandbox, "ProspectActivity.svc/Retrieve")]
    (written,) = to_file["outputs"]
    assert written["namespace"] == "file" and Path(written["name"]).is_file()
    assert written["name"].startswith(str(airflow_env["root"] / "data" / "manual"))
    assert schema(written) == RECORD_SCHEMA and rows(written) == len(truth)
    (to_sql,) = completed(events, "leadsquared_activities_manual.to_sql")
    assert named(to_sql["inputs"]) == named([written])
    assert named(to_sql["outputs"]) == [table(airflow_env, "leadsquared_activities")]
    assert rows(to_sql["outputs"][0]) == len(truth)
    assert_no_key(events, sandbox)
