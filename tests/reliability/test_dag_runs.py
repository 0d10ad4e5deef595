"""Whole Airflow DAG runs (dag.test()) against the sandbox: faults, a killed task, key leaks.

The DAGs are in tests/reliability/dags; the module's fixture points the DAGs folder at them
and syncs them to a migrated metadata DB, as tests/integration does for the example DAGs.
All runs here use one sandbox of 300 leads with distinctive keys.

- ``test_a_run_under_every_fault_ends_with_the_exact_truth``: 5 % HTTP 500, 2 % 503, 1 %
  dropped connections, 1 % answers slower than the client's timeout, 1 % truncated JSON, and
  rate-limit answers given as HTTP 200 with the MX body, all at once over 300 leads; one
  table-writing task is also made to fail part way, so Airflow's own retry finishes it. Files
  and PostgreSQL end with exactly the ground truth.
- ``test_a_killed_task_run_again_ends_with_the_exact_truth``: dag.test() in a subprocess,
  SIGKILLed while the file is being written, then again while the table is; the run that
  follows writes exactly the ground truth, with nothing partial at the final path.
- ``test_no_key_anywhere_after_successful_and_failing_runs``: every trace of successful and
  failing runs is searched for both keys (and a wrong pair a user might type).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum
import pytest

from airflow_provider_leadact.airflow_compat import AIRFLOW_VERSION
from airflow_provider_leadact.sandbox import Sandbox
from tests.support.airflow_env import synced_dags_folder
from tests.support.connections import connection_json
from tests.support.killed_runs import run_dag_test_and_kill
from tests.support.proxies import FailingLeadsProxy
from tests.support.sandbox import ALL_KEYS, KEYS, WRONG_KEYS
from tests.support.sql import as_records, fetch_rows, strictly_equal
from tests.support.truth import flattened_truth

pytestmark = pytest.mark.e2e

DAGS = Path(__file__).resolve().parent / "dags"
FAULT_RATES = {"fault_500": 0.05, "fault_503": 0.02, "fault_drop": 0.01, "fault_slow": 0.01, "fault_truncated": 0.01}
NO_FAULTS = dict.fromkeys(FAULT_RATES, 0.0)


@dataclass
class Rel:
    sandbox: Sandbox
    root: Path
    evidence: Path
    bag: Any
    sqlite: Path
    logs: list[str]

    @property
    def storage(self) -> Path:
        return self.root / "storage"

    def dag(self, dag_id: str) -> Any:
        return self.bag.get_dag(dag_id)


def metadata_db() -> Path:
    from airflow.configuration import conf

    uri = conf.get("database", "sql_alchemy_conn")
    assert uri.startswith("sqlite:///"), "these checks read the test's SQLite metadata DB"
    return Path(uri.removeprefix("sqlite:///").split("?")[0])


def metadata_rows(query: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(f"file:{metadata_db()}?mode=ro", uri=True, timeout=30) as db:
        return db.execute(query, args).fetchall()


@pytest.fixture(scope="module")
def rel(tmp_path_factory: pytest.TempPathFactory, postgres_server: dict[str, Any]) -> Iterator[Rel]:
    root = tmp_path_factory.mktemp("rel-root")
    evidence = tmp_path_factory.mktemp("rel-evidence")
    sandbox = Sandbox(leads=300, latency=0.0, rate_limit_calls=0, **KEYS).start()
    pg = postgres_server
    env = {
        "LEADACT_REL_ROOT": str(root),
        "LEADACT_REL_EVIDENCE": str(evidence),
        "AIRFLOW_CONN_LEADACT_REL_LSQ": connection_json(sandbox.url),
        "AIRFLOW_CONN_LEADACT_REL_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(root / "rel.db")}),
        "AIRFLOW_CONN_LEADACT_REL_PG": f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}",
    }
    try:
        with synced_dags_folder(DAGS, env) as bag:
            assert bag.import_errors == {}
            yield Rel(sandbox, root, evidence, bag, root / "rel.db", [])
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(rel: Rel) -> Iterator[Sandbox]:
    rel.sandbox.reset()
    yield rel.sandbox
    rel.sandbox.reset()


def use_connection(monkeypatch: pytest.MonkeyPatch, host: str, **fields: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LEADACT_REL_LSQ", connection_json(host, **fields))


def run_dag(rel: Rel, capfd: pytest.CaptureFixture, dag_id: str, when: pendulum.DateTime, **conf: Any) -> Any:
    """dag.test() in this process; its output (the task logs) is kept for the key search."""
    capfd.readouterr()
    try:
        return rel.dag(dag_id).test(logical_date=when, run_conf=conf or None)
    finally:
        out, err = capfd.readouterr()
        rel.logs.append(out + err)


def task_states(run: Any) -> dict[tuple[str, int], tuple[str, int]]:
    return {(ti.task_id, ti.map_index): (str(ti.state), ti.try_number) for ti in run.get_task_instances()}


def read_parts(files: list[Path]) -> dict[str, dict]:
    rows = [json.loads(line) for path in files for line in path.read_text("utf-8").splitlines()]
    keyed = {row["id"]: row for row in rows}
    assert len(keyed) == len(rows), "an activity was written twice"
    return keyed


def temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob(".*.tmp"))


# -- faults ----------------------------------------------------------------------------------


class FailTheTableOnce(threading.Thread):
    """Once the table has rows, make every call fail until Airflow has marked that try for retry.

    The task fails part way (some batches committed), Airflow retries it (retry_delay 2 s),
    and by then the sandbox is back to the random fault rates.
    """

    def __init__(self, sandbox: Sandbox, count_rows: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.sandbox, self.count_rows = sandbox, count_rows
        self.stop = threading.Event()
        self.rows_before = self.forced = 0

    def run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                rows = self.count_rows()
            except Exception:  # the table does not exist yet
                rows = 0
            if rows:
                self.rows_before = rows
                break
        else:
            return
        before = self.sandbox.stats()["faults"]["500"]
        self.sandbox.configure(**{**NO_FAULTS, "fault_500": 1.0})
        deadline = time.monotonic() + 60
        while not self.stop.wait(0.05) and time.monotonic() < deadline:
            states = metadata_rows(
                "SELECT state FROM task_instance WHERE dag_id = 'leadact_rel_faults' AND task_id = 'to_sql'"
            )
            if any(state in ("up_for_retry", "failed") for (state,) in states):
                break
        self.sandbox.configure(**FAULT_RATES)
        self.forced = self.sandbox.stats()["faults"]["500"] - before


def test_a_run_under_every_fault_ends_with_the_exact_truth(rel: Rel, sandbox: Sandbox, capfd, monkeypatch) -> None:
    import psycopg2

    from airflow_provider_leadact.airflow_compat import BaseHook

    # The server allows 40 calls a second, the client believes 60: rate-limit answers (HTTP 200
    # with the MX body) really happen. Slow answers take 3 s, the client waits 1 s.
    sandbox.configure(
        **FAULT_RATES,
        slow_seconds=3.0,
        fault_seed=2025,
        rate_limit_calls=40,
        rate_limit_period=1.0,
        rate_limit_style="200",
    )
    use_connection(
        monkeypatch,
        sandbox.url,
        timeout_seconds=1.0,
        max_attempts=4,
        retry_wait_seconds=0.05,
        retry_max_wait_seconds=0.3,
        rate_limit_calls=60,
        rate_limit_period_seconds=1,
        max_concurrency=12,
    )
    pg = BaseHook.get_connection("leadact_rel_pg")

    def count_rows() -> int:
        db = psycopg2.connect(host=pg.host, port=pg.port, user=pg.login, dbname=pg.schema)
        try:
            with db.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM rel_faults")
                return cursor.fetchone()[0]
        finally:
            db.close()

    saboteur = FailTheTableOnce(sandbox, count_rows)
    saboteur.start()
    try:
        run = run_dag(rel, capfd, "leadact_rel_faults", pendulum.datetime(2025, 2, 1, tz="UTC"))
    finally:
        saboteur.stop.set()
        saboteur.join(timeout=5)

    states = task_states(run)
    assert str(run.state) == "success", states
    assert {state for state, _ in states.values()} == {"success"}
    assert len(states) == 1 + 3 + 3  # 300 leads in batches of 100, to files and to the table
    retried = [key for key, (_, tries) in states.items() if key[0] == "to_sql" and tries >= 2]
    assert retried, f"the table's fetch was meant to fail once and be retried by Airflow: {states}"
    assert saboteur.rows_before > 0

    ids = sandbox.lead_ids()
    truth = flattened_truth(sandbox, ids)
    assert len(ids) == 300 and len(truth) > 15_000
    parts = sorted((rel.storage / "faults").glob("part-*.jsonl"))
    assert len(parts) == 3
    assert read_parts(parts) == truth
    assert temporaries(rel.storage) == []
    strictly_equal(as_records(fetch_rows("leadact_rel_pg", "rel_faults")), truth)

    stats = sandbox.stats()
    assert all(stats["faults"][kind] > 0 for kind in ("500", "503", "drop", "slow", "truncated")), stats["faults"]
    assert stats["rate_limited"] > 0 and stats["by_status"].get("429", 0) == 0
    assert stats["query_auth_calls"] == 0
    summaries = [
        json.loads(value)
        for (value,) in metadata_rows(
            "SELECT value FROM xcom WHERE dag_id = 'leadact_rel_faults' AND task_id IN ('to_files', 'to_sql')"
        )
    ]
    assert sum(summary["activities"] for summary in summaries) == 2 * len(truth)
    assert sum(summary["rate_limit_waits"] for summary in summaries) > 0
    figures = (
        f"fault run: {len(ids)} leads, {len(truth)} activities, {stats['calls']} API calls, "
        f"faults {stats['faults']} ({saboteur.forced} of the 500s forced while the table was failed on purpose), "
        f"rate-limit answers {stats['rate_limited']}, retried by Airflow {retried}"
    )
    print(figures)
    rel.logs.append(figures)


# -- a killed task ---------------------------------------------------------------------------


def sqlite_count(database: Path, table: str) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:  # no database or table yet, or locked for a moment
        return 0


def run_and_kill(rel: Rel, when: pendulum.DateTime, conf: dict, ready: Callable[[], bool], name: str) -> None:
    """Run the kill DAG with dag.test() in a subprocess and SIGKILL it as soon as ``ready()``."""
    log = rel.evidence / f"{name}.log"
    returncode = run_dag_test_and_kill(DAGS, "leadact_rel_kill", when, ready, log, conf=conf, timeout=90)
    assert returncode == -signal.SIGKILL


def test_a_killed_task_run_again_ends_with_the_exact_truth(rel: Rel, sandbox: Sandbox, capfd, monkeypatch) -> None:
    # Slow enough answers that a kill lands mid-write; two leads at a time.
    sandbox.configure(latency=0.03)
    use_connection(monkeypatch, sandbox.url, max_concurrency=2)
    ids = sandbox.lead_ids()[:60]
    truth = flattened_truth(sandbox, ids)
    when = pendulum.datetime(2025, 2, 2, tz="UTC")
    conf = {"lead_ids": ",".join(ids)}
    folder = rel.storage / "kill" / when.strftime("%Y%m%dT%H%M%S")
    final = folder / "activities.jsonl"

    def file_half_written() -> bool:
        return (
            any(path.stat().st_size > 0 for path in folder.glob(".activities.jsonl.*.tmp"))
            if folder.exists()
            else False
        )

    # 1. Killed while the file is being written: nothing at the final path.
    run_and_kill(rel, when, conf, file_half_written, "killed-writing-the-file")
    assert not final.exists()
    abandoned = temporaries(folder)
    assert len(abandoned) == 1 and abandoned[0].stat().st_size > 0  # what SIGKILL leaves: never at the final path
    assert sqlite_count(rel.sqlite, "rel_kill") == 0

    # 2. Run again: the file is written whole (and the abandoned temporary removed); killed
    #    this time while the table is being written.
    run_and_kill(rel, when, conf, lambda: sqlite_count(rel.sqlite, "rel_kill") > 0, "killed-writing-the-table")
    assert read_parts([final]) == truth
    assert temporaries(folder) == []
    partial = as_records(fetch_rows("leadact_rel_sqlite", "rel_kill"))
    assert 0 < len(partial) < len(truth)
    strictly_equal(partial, {key: truth[key] for key in partial})  # whole, exact rows only

    # 3. Run again, to the end: exactly the ground truth in both sinks.
    run = run_dag(rel, capfd, "leadact_rel_kill", when, **conf)
    assert str(run.state) == "success", task_states(run)
    assert read_parts([final]) == truth
    assert temporaries(rel.storage) == []
    strictly_equal(as_records(fetch_rows("leadact_rel_sqlite", "rel_kill")), truth)
    assert sandbox.stats()["query_auth_calls"] == 0


# -- keys ------------------------------------------------------------------------------------


def test_no_key_anywhere_after_successful_and_failing_runs(rel: Rel, sandbox: Sandbox, capfd, monkeypatch) -> None:
    ids = sandbox.lead_ids()[100:108]
    conf = {"lead_ids": "\n".join(ids)}
    dag_id = "leadact_rel_leaks"

    # Successful.
    use_connection(monkeypatch, sandbox.url)
    run = run_dag(rel, capfd, dag_id, pendulum.datetime(2025, 3, 1, tz="UTC"), **conf)
    assert str(run.state) == "success", task_states(run)

    # Wrong keys: HTTP 401, retried neither by the hook nor by Airflow (a retry would meet
    # the same keys), although the tasks allow a retry.
    use_connection(monkeypatch, sandbox.url, login=WRONG_KEYS["access_key"], password=WRONG_KEYS["secret_key"])
    run = run_dag(rel, capfd, dag_id, pendulum.datetime(2025, 3, 2, tz="UTC"), **conf)
    assert set(task_states(run).values()) == {("failed", 1)}

    # Server errors on every call.
    sandbox.configure(fault_500=1.0)
    use_connection(monkeypatch, sandbox.url, max_attempts=2)
    run = run_dag(rel, capfd, dag_id, pendulum.datetime(2025, 3, 3, tz="UTC"), **conf)
    assert set(task_states(run).values()) == {("failed", 2)}
    sandbox.configure(fault_500=0.0)

    # One lead that keeps failing after every retry (the hook's and Airflow's).
    bad = ids[5]
    with FailingLeadsProxy(sandbox.url, {bad}) as proxy:
        use_connection(monkeypatch, proxy.url, max_attempts=3)
        run = run_dag(rel, capfd, dag_id, pendulum.datetime(2025, 3, 4, tz="UTC"), **conf)
    assert set(task_states(run).values()) == {("failed", 2)}
    assert proxy.failed[bad] == 2 * 2 * 3  # two tasks, two tries each, three attempts each
    failed_folder = rel.storage / "leaks" / "20250304T000000"
    assert not (failed_folder / "activities.jsonl").exists() and temporaries(rel.storage) == []

    # The failures were recorded as the user sees them: they name the cause and the lead.
    exceptions = (rel.evidence / "exceptions.txt").read_text("utf-8")
    # Before Airflow 3.3, failure callbacks under dag.test() get no exception: there the
    # task logs, which carry each failure's traceback, are where the user reads them.
    seen = exceptions if AIRFLOW_VERSION >= (3, 3) else "\n".join(rel.logs)
    assert "HTTP 401" in seen and "Check the Access Key and Secret Key" in seen
    assert "HTTP 500 from LeadSquared" in seen
    assert f"activities of lead {bad} (Offset 0): failed after 3 attempts" in seen
    assert "Traceback (most recent call last)" in seen

    # Everything a run leaves behind, searched for every key.
    home = Path(os.environ["AIRFLOW_HOME"])
    database = metadata_db()
    xcoms = metadata_rows("SELECT dag_id, task_id, value FROM xcom")
    rendered = metadata_rows("SELECT dag_id, task_id, rendered_fields FROM rendered_task_instance_fields")
    assert {row[0] for row in xcoms} >= {dag_id} and {row[0] for row in rendered} >= {dag_id}
    assert any(ids[0] in str(row) for row in rendered), "rendered lead ids are searched"
    written = [path for path in rel.storage.rglob("*") if path.is_file()]
    assert written
    corpus: dict[str, str | bytes] = {
        "task logs (dag.test output)": "\n".join(rel.logs),
        "exception texts and tracebacks": exceptions,
        "XCom values": repr(xcoms),
        "rendered template fields": repr(rendered),
        "SQLite rows": repr(fetch_rows("leadact_rel_sqlite", "rel_leaks")),
    }
    for name in ("rel_kill",):
        if sqlite_count(rel.sqlite, name):
            corpus[f"SQLite rows of {name}"] = repr(fetch_rows("leadact_rel_sqlite", name))
    for path in [*written, *rel.evidence.glob("*.log"), *(home / "logs").rglob("*")]:
        if path.is_file():
            corpus[str(path)] = path.read_bytes()
    for path in database.parent.glob(database.name + "*"):  # the DB and any journal or WAL
        corpus[str(path)] = path.read_bytes()
    assert len(rel.logs) >= 4 and all(rel.logs)
    assert any(ids[0] in log for log in rel.logs), "the captured output holds the task logs"

    print(f"key search: {len(corpus)} places, {sum(len(c) for c in corpus.values())} characters/bytes")
    leaks = [
        (where, key)
        for where, content in corpus.items()
        for key in ALL_KEYS
        if (key.encode() if isinstance(content, bytes) else key) in content
    ]
    assert leaks == []
    assert sandbox.stats()["query_auth_calls"] == 0
