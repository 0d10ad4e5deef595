"""DAGs of the reliability suite (tests/reliability/test_dag_runs.py), run with dag.test().

Settings come from environment variables read at parse time, set by the suite's fixture:
``LEADACT_REL_ROOT`` (a folder for the files written), ``LEADACT_REL_EVIDENCE`` (where the
failure callback records exception texts). Connections: ``leadact_rel_lsq`` (LeadSquared),
``leadact_rel_sqlite`` and ``leadact_rel_pg``.
"""

from __future__ import annotations

import os
import traceback
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredRecentlyModifiedLeadsOperator,
)

ROOT = os.environ.get("LEADACT_REL_ROOT", "/tmp/leadact-reliability")
EVIDENCE = os.environ.get("LEADACT_REL_EVIDENCE", ROOT + "-evidence")
STORAGE = f"file://{ROOT}/storage"
LSQ = "leadact_rel_lsq"
SQLITE = "leadact_rel_sqlite"
POSTGRES = "leadact_rel_pg"
START = pendulum.datetime(2025, 1, 1, tz="UTC")


def record_exception(context) -> None:
    """Keep the exception of every failed try, with its traceback, for the key search."""
    error = context.get("exception")
    ti = context["ti"]
    text = "".join(traceback.format_exception(error)) if isinstance(error, BaseException) else repr(error)
    os.makedirs(EVIDENCE, exist_ok=True)
    with open(os.path.join(EVIDENCE, "exceptions.txt"), "a", encoding="utf-8") as file:
        file.write(f"=== {ti.dag_id}.{ti.task_id}[{ti.map_index}] try {ti.try_number}\n{text}\n")


callbacks = {"on_failure_callback": record_exception, "on_retry_callback": record_exception}

# A few hundred leads, under faults: leads modified in the sandbox's window -> batches -> one
# mapped fetch per batch to files and one to PostgreSQL.
with DAG(
    dag_id="leadact_rel_faults",
    schedule=None,
    start_date=START,
    catchup=False,
    default_args={"retries": 3, "retry_delay": timedelta(seconds=2), **callbacks},
) as faults_dag:
    leads = LeadSquaredRecentlyModifiedLeadsOperator(
        task_id="modified_leads",
        from_date="2024-12-01T00:00:00+00:00",
        to_date="2025-03-01T00:00:00+00:00",
        batch_size=100,
        leadsquared_conn_id=LSQ,
    )
    to_files = LeadSquaredActivitiesToObjectStorageOperator.partial(
        task_id="to_files",
        path=STORAGE + "/faults/part-{{ '%05d' % ti.map_index }}.jsonl",
        base_path=STORAGE,
        leadsquared_conn_id=LSQ,
        batch_size=500,
    ).expand(lead_ids=leads.output)
    to_sql = LeadSquaredActivitiesToSqlOperator.partial(
        task_id="to_sql", conn_id=POSTGRES, table="rel_faults", leadsquared_conn_id=LSQ, batch_size=500
    ).expand(lead_ids=leads.output)
    # Files first, then the table: the suite makes the table's fetch fail part way once.
    leads >> to_files >> to_sql


def fetch_pair(dag_id: str, folder: str, table: str, retries: int, chained: bool) -> DAG:
    """Lead ids from the run's conf -> a file under the run's folder, and a SQLite table."""
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        default_args={"retries": retries, "retry_delay": timedelta(seconds=0), **callbacks},
        params={"lead_ids": ""},
    ) as dag:
        to_file = LeadSquaredActivitiesToObjectStorageOperator(
            task_id="to_file",
            lead_ids="{{ params.lead_ids }}",
            path=STORAGE + f"/{folder}/" + "{{ dag_run.logical_date | ts_nodash }}/activities.jsonl",
            base_path=STORAGE,
            leadsquared_conn_id=LSQ,
            batch_size=200,
        )
        to_sql = LeadSquaredActivitiesToSqlOperator(
            task_id="to_sql",
            lead_ids="{{ params.lead_ids }}",
            conn_id=SQLITE,
            table=table,
            leadsquared_conn_id=LSQ,
            batch_size=200,
        )
        if chained:
            to_file >> to_sql
    return dag


# Killed part way (in a subprocess) and run again.
kill_dag = fetch_pair("leadact_rel_kill", "kill", "rel_kill", retries=1, chained=True)
# Successful and failing runs whose every trace is searched for the keys.
leaks_dag = fetch_pair("leadact_rel_leaks", "leaks", "rel_leaks", retries=1, chained=False)
