"""Daily LeadSquared activities: exactly what changed in each data interval -> files -> SQL table.

1. ``changed_leads`` lists the activities whose ``ModifiedOn`` lies in the data interval
   ("Get Activities by Date Range", paged exactly) and returns their leads in batches;
2. ``fetch_activities`` (one mapped task per batch) fetches each lead's activities changed in
   the interval, stopping each lead as soon as the rest of its history cannot hold one, into a
   file of the interval's partition, ``<base>/activities/interval_start=<ts>/part-<n>.jsonl``;
3. ``load_to_sql`` upserts those files into the SQL table, and ``prune_stale_parts`` deletes
   part files an earlier run of the interval left that this run did not write.

A partition holds exactly the activities whose ``ModifiedOn`` lies in
``[data_interval_start, data_interval_end)``, of every lead, as the API shows them when the
run runs: on time, retried, or backfilled months later. Everything is keyed on the data
interval, never on now(): a rerun or backfill rewrites that interval's partition and upserts
the same rows. An activity edited again later leaves the older interval and lands in the
later one; the table holds each activity once, with its latest landed values. API tasks
share the ``leadsquared_api`` pool (``airflow pools set leadsquared_api 4 ...``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG
from leadsquared_settings import (
    API_POOL,
    BASE_PATH,
    FILE_FORMAT,
    LEADS_PER_BATCH,
    LEADSQUARED_CONN_ID,
    SQL_CONN_ID,
    SQL_TABLE,
)

from airflow_provider_leadact.airflow_compat import CronDataIntervalTimetable
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivityFilesToSqlOperator,
    LeadSquaredChangedLeadsOperator,
    LeadSquaredPrunePartitionOperator,
    files_asset,
)

PARTITION = BASE_PATH + "/activities/interval_start={{ data_interval_start | ts_nodash }}"
START, END = "{{ data_interval_start }}", "{{ data_interval_end }}"

with DAG(
    dag_id="leadsquared_activities_daily",
    description="LeadSquared activities changed each day, to a partition per day and a SQL table",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["leadsquared"],
    doc_md=__doc__,
) as dag:
    changed_leads = LeadSquaredChangedLeadsOperator(
        task_id="changed_leads",
        from_date=START,
        to_date=END,
        batch_size=LEADS_PER_BATCH,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    )

    fetch_activities = LeadSquaredActivitiesToObjectStorageOperator.partial(
        task_id="fetch_activities",
        changed_from=START,
        changed_to=END,
        path=PARTITION + "/part-{{ '%05d' % ti.map_index }}." + FILE_FORMAT,
        base_path=BASE_PATH,  # a rendered path outside the configured storage is refused
        file_format=FILE_FORMAT,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
        # Mapped tasks take their outlets from partial(): one Asset for every partition.
        outlets=[files_asset(PARTITION)],
    ).expand(lead_ids=changed_leads.output)

    load_to_sql = LeadSquaredActivityFilesToSqlOperator(
        task_id="load_to_sql",
        paths=fetch_activities.output,
        conn_id=SQL_CONN_ID,
        table=SQL_TABLE,
    )

    # Runs when none failed: also after an interval where nothing changed (the fetch is then
    # skipped), where every part an earlier run wrote is stale.
    prune_stale_parts = LeadSquaredPrunePartitionOperator(
        task_id="prune_stale_parts", partition=PARTITION, written=fetch_activities.output
    )

    changed_leads >> fetch_activities >> [load_to_sql, prune_stale_parts]
