"""Whole history of every lead, into the SQL table: the first load, or a full re-sync.

Daily partitions hold only what changed in their interval, so the history before the first
daily run is loaded here, once:

1. ``all_leads`` lists every lead whose last change lies between the *From* param (default
   2000-01-01) and the run's time (``Leads.RecentlyModified``, i.e. every lead), in batches;
2. ``fetch_history`` (one mapped task per batch) fetches each lead's whole history and upserts
   it into the table by activity id.

Resumable: the lead list is kept with the run, so clearing the failed ``fetch_history`` tasks
(or the whole run) fetches again only what they hold, and a second run duplicates nothing.
Then schedule ``leadsquared_activities_daily`` from the day this run started.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param
from leadsquared_settings import API_POOL, LEADS_PER_BATCH, LEADSQUARED_CONN_ID, SQL_CONN_ID, SQL_TABLE

from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredRecentlyModifiedLeadsOperator,
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
            description="Leads whose last change is at or after this time (UTC); the default takes every lead.",
        ),
    },
    tags=["leadsquared"],
    doc_md=__doc__,
) as dag:
    all_leads = LeadSquaredRecentlyModifiedLeadsOperator(
        task_id="all_leads",
        from_date="{{ params.from_date }}",
        # The run's own time, not now(): a cleared task of this run lists the same leads.
        to_date="{{ dag_run.run_after }}",
        batch_size=LEADS_PER_BATCH,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    )

    fetch_history = LeadSquaredActivitiesToSqlOperator.partial(
        task_id="fetch_history",
        conn_id=SQL_CONN_ID,
        table=SQL_TABLE,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    ).expand(lead_ids=all_leads.output)
