"""Daily LeadSquared activities: exactly what changed in each data interval -> files -> SQL table.

1. ``interval_windows`` cuts the data interval into windows of ``LEADACT_WINDOW_HOURS`` (6 by
   default; no API call);
2. ``fetch_activities`` (one mapped task per window) lists the activities whose ``ModifiedOn``
   lies in its window ("Get Activities by Date Range", paged exactly, one call per page of up
   to 1,000 activities) and writes them straight into a file of the interval's partition,
   ``<base>/activities/interval_start=<ts>/part-<n>.jsonl``; only leads whose listed rows lack
   a record field (or activities only the change history names) are fetched per lead;
3. ``load_to_sql`` upserts those files into the SQL table, and ``prune_stale_parts`` deletes
   part files an earlier run of the interval left that this run did not write;
4. ``activity_types`` keeps the account's activity types and their custom fields in two tables
   beside the activities table, refreshed at most once per UTC day.

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

from airflow_provider_leadact.airflow_compat import CronDataIntervalTimetable
from airflow_provider_leadact.example_dags.leadsquared_settings import (
    API_POOL,
    BASE_PATH,
    FILE_FORMAT,
    LEADSQUARED_CONN_ID,
    SQL_CONN_ID,
    SQL_TABLE,
    WINDOW_HOURS,
)
from airflow_provider_leadact.operators import (
    LeadSquaredActivityFilesToSqlOperator,
    LeadSquaredActivityTypesToSqlOperator,
    LeadSquaredChangedActivitiesToObjectStorageOperator,
    LeadSquaredPrunePartitionOperator,
    LeadSquaredWindowsOperator,
    files_asset,
)

PARTITION = BASE_PATH + "/activities/interval_start={{ data_interval_start | ts_nodash }}"

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
    interval_windows = LeadSquaredWindowsOperator(
        task_id="interval_windows",
        from_date="{{ data_interval_start }}",
        to_date="{{ data_interval_end }}",
        window_hours=WINDOW_HOURS,
        skip_empty=False,  # a day is short: no call to find where its changes start
    )

    fetch_activities = LeadSquaredChangedActivitiesToObjectStorageOperator.partial(
        task_id="fetch_activities",
        path=PARTITION + "/part-{{ '%05d' % ti.map_index }}." + FILE_FORMAT,
        base_path=BASE_PATH,  # a rendered path outside the configured storage is refused
        file_format=FILE_FORMAT,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
        # Mapped tasks take their outlets from partial(): one Asset for every partition.
        outlets=[files_asset(PARTITION)],
    ).expand_kwargs(interval_windows.output)

    load_to_sql = LeadSquaredActivityFilesToSqlOperator(
        task_id="load_to_sql",
        paths=fetch_activities.output,
        conn_id=SQL_CONN_ID,
        table=SQL_TABLE,
    )

    # Runs when none failed: parts an earlier run of the interval wrote and this one did not are stale.
    prune_stale_parts = LeadSquaredPrunePartitionOperator(
        task_id="prune_stale_parts", partition=PARTITION, written=fetch_activities.output
    )

    # What event codes and mx_Custom_n fields mean, in two tables beside the activities table.
    # Read at most once a UTC day: a backfill's runs after the first make no API call.
    activity_types = LeadSquaredActivityTypesToSqlOperator(
        task_id="activity_types",
        conn_id=SQL_CONN_ID,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    )

    interval_windows >> fetch_activities >> [load_to_sql, prune_stale_parts]
