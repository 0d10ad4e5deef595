"""The activity types operator against the sandbox over HTTP, into real SQLite and PostgreSQL:
the tables, the once-a-day refresh, replacement, errors; and the README's queries, run as written."""

from __future__ import annotations

import copy
import json
import re
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredApiError, LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators import LeadSquaredActivitiesToSqlOperator, LeadSquaredActivityTypesToSqlOperator
from airflow_provider_leadact.sandbox.activity_types import SETTING_PATH, TYPES_PATH
from airflow_provider_leadact.sinks.activity_types import ActivityTypesSqlSink
from airflow_provider_leadact.sinks.sql import SqlSink
from tests.support.proxies import RewritingProxy
from tests.support.truth import activity_types_truth

README = Path(__file__).resolve().parents[2] / "README.md"
TYPES, FIELDS = "leadsquared_activity_types", "leadsquared_activity_type_fields"
TRUTH = activity_types_truth()
CALLS = 1 + sum(1 for item in TRUTH.values() if item["is_custom"])


@pytest.fixture
def fresh_postgres_conn_id(postgres_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """A connection to a database of its own on the session's server, so the default table names are free."""
    import psycopg2

    name = f"types_{uuid.uuid4().hex[:12]}"
    db = psycopg2.connect(
        host=postgres_server["host"], port=postgres_server["port"], user="postgres", dbname="postgres"
    )
    try:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
    finally:
        db.close()
    pg = postgres_server
    monkeypatch.setenv("AIRFLOW_CONN_LEADACT_TYPES_PG", f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{name}")
    return "leadact_types_pg"


@pytest.fixture(params=["sqlite", "postgres"])
def conn_id(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_conn_id" if request.param == "sqlite" else "fresh_postgres_conn_id")


def query(conn_id: str, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run SQL with the database's own driver (not the operator's code); rows for a SELECT."""
    connection = BaseHook.get_connection(conn_id)
    if connection.conn_type == "sqlite":
        db = sqlite3.connect(connection.host)
        try:
            with db:
                return db.execute(sql, parameters).fetchall()
        finally:
            db.close()
    import psycopg2

    db = psycopg2.connect(host=connection.host, port=connection.port, user=connection.login, dbname=connection.schema)
    try:
        with db, db.cursor() as cursor:
            cursor.execute(sql, parameters or None)
            return cursor.fetchall() if cursor.description else []
    finally:
        db.close()


def as_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def stored_catalogue(conn_id: str) -> dict[int, dict[str, Any]]:
    """Both tables, read back in the shape of :func:`activity_types_truth`."""
    types = query(conn_id, f"SELECT event_code, event_name, category, is_custom FROM {TYPES}")
    fields = query(
        conn_id, f"SELECT event_code, schema_name, display_name, data_type, is_mandatory, option_set FROM {FIELDS}"
    )
    catalogue = {
        code: {"event_name": name, "category": category, "is_custom": bool(custom), "fields": {}}
        for code, name, category, custom in types
    }
    assert len(catalogue) == len(types)
    for code, schema_name, display_name, data_type, mandatory, option_set in fields:
        options = as_json(option_set)
        catalogue[code]["fields"][schema_name] = {
            "display_name": display_name,
            "data_type": data_type,
            "is_mandatory": bool(mandatory),
            "options": None if options is None else [option["Value"] for option in options],
        }
    assert sum(len(item["fields"]) for item in catalogue.values()) == len(fields)
    return catalogue


def refresh_stamps(conn_id: str) -> set[str]:
    stamps = query(conn_id, f"SELECT refreshed_at FROM {TYPES} UNION SELECT refreshed_at FROM {FIELDS}")
    return {str(stamp) for (stamp,) in stamps}


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def test_types_and_their_fields_land_in_two_tables(conn_id: str, activity_sandbox) -> None:
    summary = LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})

    assert stored_catalogue(conn_id) == TRUTH
    fields = sum(len(item["fields"]) for item in TRUTH.values())
    assert {k: summary[k] for k in ("types", "fields", "skipped", "api_calls")} == {
        "types": len(TRUTH),
        "fields": fields,
        "skipped": False,
        "api_calls": CALLS,
    }
    assert summary["location"] == f"{conn_id}:{TYPES},{FIELDS}"
    assert activity_sandbox.stats()["by_endpoint"] == {TYPES_PATH: 1, SETTING_PATH: CALLS - 1}
    (stamp,) = refresh_stamps(conn_id)
    assert stamp == summary["refreshed_at"]
    assert abs(datetime.fromisoformat(stamp) - utc_now()) < timedelta(minutes=1)
    details = dict(query(conn_id, f"SELECT event_code, details FROM {TYPES}"))
    assert as_json(details[201])["Score"] == 5 and as_json(details[12])["IsEmailType"] is True


def test_refreshed_at_most_once_a_utc_day(conn_id: str, activity_sandbox) -> None:
    first = LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})
    activity_sandbox.reset_stats()

    # A 90-day backfill: each run's task after the first finds today's refresh and calls nothing.
    summaries = [LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({}) for _ in range(90)]
    assert activity_sandbox.stats()["calls"] == 0
    assert {(s["skipped"], s["api_calls"], s["types"], s["refreshed_at"]) for s in summaries} == {
        (True, 0, first["types"], first["refreshed_at"])
    }

    # Refreshed yesterday (UTC): the next run reads the catalogue again.
    yesterday = (utc_now() - timedelta(days=1)).replace(microsecond=0)
    for table in (TYPES, FIELDS):
        query(conn_id, f"UPDATE {table} SET refreshed_at = {'?' if 'sqlite' in conn_id else '%s'}", (yesterday,))
    again = LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})
    assert not again["skipped"] and again["api_calls"] == CALLS
    assert refresh_stamps(conn_id) == {again["refreshed_at"]} != {str(yesterday)}

    forced = LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id, force=True).execute({})
    assert not forced["skipped"] and forced["api_calls"] == CALLS
    assert activity_sandbox.stats()["calls"] == 2 * CALLS
    assert stored_catalogue(conn_id) == TRUTH


def test_a_refresh_replaces_the_catalogue(conn_id: str, activity_sandbox, set_connection) -> None:
    LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})

    # Since then the account deleted type 215 and 201's fourth field, and renamed its notes.
    def rewrite(path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        body = json.loads(payload)
        if path == TYPES_PATH:
            body = [item for item in body if item["ActivityEvent"] != 215]
        elif body.get("DisplayName") == "Follow Up Scheduled":
            body["Fields"] = [field for field in body["Fields"] if field["SchemaName"] != "mx_Custom_4"]
            body["Fields"][2]["DisplayName"] = "Notes \u2013 \u0928\u094b\u091f"
        return status, json.dumps(body).encode()

    with RewritingProxy(activity_sandbox.url, rewrite) as proxy:
        set_connection("lsq_rewritten", proxy.url)
        summary = LeadSquaredActivityTypesToSqlOperator(
            task_id="types", conn_id=conn_id, leadsquared_conn_id="lsq_rewritten", force=True
        ).execute({})

    expected = copy.deepcopy(TRUTH)
    del expected[215]
    del expected[201]["fields"]["mx_Custom_4"]
    expected[201]["fields"]["mx_Custom_3"]["display_name"] = "Notes \u2013 \u0928\u094b\u091f"
    assert stored_catalogue(conn_id) == expected
    assert summary["types"] == len(TRUTH) - 1
    assert refresh_stamps(conn_id) == {summary["refreshed_at"]}


def test_an_unreadable_catalogue_fails_naming_the_endpoint_and_keeps_the_tables(
    conn_id: str, activity_sandbox, set_connection
) -> None:
    LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})
    before = refresh_stamps(conn_id)

    with RewritingProxy(activity_sandbox.url, lambda path, status, payload: (status, b'{"Message": "moved"}')) as proxy:
        set_connection("lsq_broken", proxy.url)
        operator = LeadSquaredActivityTypesToSqlOperator(
            task_id="types", conn_id=conn_id, leadsquared_conn_id="lsq_broken", force=True
        )
        with pytest.raises(LeadSquaredApiError, match=r"^ActivityTypes\.Get \(GET /v2/ProspectActivity"):
            operator.execute({})
    assert stored_catalogue(conn_id) == TRUTH and refresh_stamps(conn_id) == before


def test_concurrent_refreshes_leave_one_whole_catalogue(fresh_postgres_conn_id: str, activity_sandbox) -> None:
    # Two DAGs sharing the tables may refresh at the same moment: neither may fail on a key.
    hook = LeadSquaredHook()
    catalogue = hook.get_activity_types()
    sink = ActivityTypesSqlSink(fresh_postgres_conn_id)
    sink.prepare()
    start = utc_now().replace(microsecond=0)
    errors: list[BaseException] = []

    def refresh(n: int) -> None:
        try:
            ActivityTypesSqlSink(fresh_postgres_conn_id).replace(catalogue, start + timedelta(seconds=n))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=refresh, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored_catalogue(fresh_postgres_conn_id) == TRUTH
    assert len(refresh_stamps(fresh_postgres_conn_id)) == 1


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"table": "types; DROP TABLE x"}, "not a plain SQL identifier"),
        ({"fields_table": 'f"x'}, "not a plain SQL identifier"),
        ({"table": "crm.t", "fields_table": "CRM.T"}, "need two tables"),
        ({"conn_id": ""}, "conn_id is empty"),
        ({"force": "yes"}, "force must be True or False"),
        ({"leadsquared_conn_id": ""}, "leadsquared_conn_id is empty"),
    ],
)
def test_bad_parameters_are_refused_when_the_dag_is_parsed(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(LeadSquaredConfigError, match=re.escape(words)):
        LeadSquaredActivityTypesToSqlOperator(task_id="types", **{"conn_id": "db", **kwargs})


def test_construction_does_no_io_and_serialises_the_task() -> None:
    # Neither connection exists: nothing is looked up until the task runs.
    operator = LeadSquaredActivityTypesToSqlOperator(
        task_id="types", conn_id="no_such_db", leadsquared_conn_id="no_such_lsq", table="crm.types"
    )
    assert operator.max_active_tis_per_dag == 1
    assert [asset.uri for asset in operator.outlets] == [
        "leadsquared-sql://no_such_db/crm.types",
        f"leadsquared-sql://no_such_db/{FIELDS}",
    ]
    assert (
        LeadSquaredActivityTypesToSqlOperator(
            task_id="t", conn_id="db", max_active_tis_per_dag=3
        ).max_active_tis_per_dag
        == 3
    )


def test_a_database_that_cannot_work_fails_before_any_call(activity_sandbox) -> None:
    with pytest.raises(LeadSquaredConfigError, match="connection 'no_such_db' is not defined"):
        LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id="no_such_db").execute({})
    with pytest.raises(LeadSquaredConfigError, match="not a SQL"):
        LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id="leadsquared_default").execute({})
    assert activity_sandbox.stats()["calls"] == 0


# -- the README's queries, as written ---------------------------------------------------------


def readme_queries() -> dict[str, list[str]]:
    """The README's SQL of the "Activity types" section, by dialect, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Activity types\n", 1)[1].split("\n## ", 1)[0]
    queries: dict[str, list[str]] = {"PostgreSQL": [], "SQLite": []}
    for block in re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL):
        queries[re.match(r"-- (\w+):", block).group(1)].append(block)
    assert [len(blocks) for blocks in queries.values()] == [2, 2]
    return queries


@pytest.fixture
def loaded(conn_id: str, activity_sandbox, truth_records) -> tuple[str, dict[str, dict[str, Any]]]:
    """Activities of 30 leads and the catalogue, loaded from the sandbox by the operators, plus
    one activity of an event code the catalogue does not know."""
    ids = [lead for lead in activity_sandbox.lead_ids() if len(activity_sandbox.truth(lead)) < 400][:30]
    LeadSquaredActivitiesToSqlOperator(task_id="activities", lead_ids=ids, conn_id=conn_id).execute({})
    LeadSquaredActivityTypesToSqlOperator(task_id="types", conn_id=conn_id).execute({})
    records = truth_records(ids)
    template = next(record for record in records.values() if record["event_code"] == 201)
    retired = {
        **template,
        "id": str(uuid.uuid4()),
        "event_code": 999,
        "event_name": "Retired Type",
        "activity_fields": {"mx_Custom_3": "kept \u2013 \u0930\u0916\u093e", "mx_Custom_1": "2025-01-02 10:00:00"},
    }
    SqlSink(conn_id).write([retired])
    return conn_id, {**records, retired["id"]: retired}


def same_value(got: Any, expected: Any) -> bool:
    # A value that was JSON in LeadSquared comes back as JSON text, its spacing the database's own.
    return got == expected if isinstance(expected, str) else json.loads(got) == expected


def check_rows(rows: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    rows, expected = sorted(rows, key=repr), sorted(expected, key=repr)
    assert [row[:-1] for row in rows] == [row[:-1] for row in expected]
    for row, wanted in zip(rows, expected, strict=True):
        assert same_value(row[-1], wanted[-1]), (row, wanted)


def test_the_readmes_query_reads_mx_custom_3_under_its_name(loaded) -> None:
    conn_id, records = loaded
    dialect = "SQLite" if "sqlite" in conn_id else "PostgreSQL"
    rows = query(conn_id, readme_queries()[dialect][0])

    expected = []
    for record in records.values():
        value = record["activity_fields"].get("mx_Custom_3")
        if value is None:
            continue
        known = TRUTH.get(record["event_code"])
        field = (known or {"fields": {}})["fields"].get("mx_Custom_3")
        expected.append((record["id"], known and known["event_name"], field and field["display_name"], value))
    assert {row[2] for row in expected} == {"Follow-up Notes", "Receipt \u2013 \u0930\u0938\u0940\u0926", None}
    check_rows(rows, sorted(expected, key=repr))
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)  # as the query orders them


def test_the_readmes_query_lists_every_custom_field_under_its_name(loaded) -> None:
    conn_id, records = loaded
    dialect = "SQLite" if "sqlite" in conn_id else "PostgreSQL"
    rows = query(conn_id, readme_queries()[dialect][1])

    expected = [
        (record["id"], known["event_name"], schema_name, field["display_name"], record["activity_fields"][schema_name])
        for record in records.values()
        if (known := TRUTH.get(record["event_code"]))
        for schema_name, field in known["fields"].items()
        if record["activity_fields"].get(schema_name) is not None
    ]
    assert len({row[3] for row in expected}) >= 10 and len(expected) > 300
    check_rows(rows, expected)
