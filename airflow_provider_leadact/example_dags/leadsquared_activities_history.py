"""Every activity of every lead, into the SQL table: the first load, or a full re-sync.

Daily partitions hold only what changed in their interval, so the history before the first
daily run is loaded here, once, through the date-range listing (a page of up to 1,000
activities per call, not a call per lead):

1. ``history_windows`` cuts ``[From, To)`` into 14-day windows (*To* defaults to the run's own
   time), starting at the day of the range's first change, so the long default range (from
   2000) costs one call where it is empty;
2. ``fetch_history`` (one mapped task per window) lists the activities whose ``ModifiedOn``
   lies in its window and upserts them into the table by activity id.

Each window is an idempotent unit: a failed or cleared window reloads only itself, and a
rerun duplicates nothing. Then schedule ``leadsquared_activities_daily`` from the day this
run started.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_leadact.example_dags.leadsquared_settings import (
    API_POOL,
    LEADSQUARED_CONN_ID,
    SQL_CONN_ID,
    SQL_TABLE,
)
from airflow_provider_leadact.operators import (
    LeadSquaredChangedActivitiesToSqlOperator,
    LeadSquaredWindowsOperator,
)

with DAG(
    dag_id="leadsquared_activities_history",
    description="Every lead's whole LeadSquared activity history, into the SQL table",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "from_date": Param(
            "2000-01-01T00:00:00+00:00",
            type="string",
            minLength=10,
            title="From",
            description="Activities changed at or after this time (UTC); the default takes every activity.",
        ),
        "to_date": Param(
            None,
            type=["null", "string"],
            title="To",
            description="Activities changed before this time (UTC); empty for the run's own time.",
        ),
    },
    tags=["leadsquared"],
    doc_md=__doc__,
) as dag:
    history_windows = LeadSquaredWindowsOperator(
        task_id="history_windows",
        from_date="{{ params.from_date }}",
        # The run's own time, not now(): a cleared task of this run plans the same windows.
        to_date="{{ params.to_date or dag_run.run_after }}",
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    )

    fetch_history = LeadSquaredChangedActivitiesToSqlOperator.partial(
        task_id="fetch_history",
        conn_id=SQL_CONN_ID,
        table=SQL_TABLE,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    ).expand_kwargs(history_windows.output)
