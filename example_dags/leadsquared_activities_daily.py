"""Daily LeadSquared activities: leads modified in the interval -> files -> SQL table.

1. ``modified_leads`` asks LeadSquared which leads changed in the data interval and splits
   them into batches;
2. ``fetch_activities`` (one mapped task per batch) writes each batch's activities to a file of
   the interval's partition, ``<base>/activities/interval_start=<ts>/part-<map index>.jsonl``;
3. ``load_to_sql`` upserts those files into the SQL table, and ``prune_stale_parts`` deletes
   part files an earlier run of the interval left that this run did not write.

Everything is keyed on the data interval, never on now(): a rerun or backfill of a day
overwrites that day's files and upserts the same rows, duplicating nothing. API tasks share
the ``leadsquared_api`` pool (create it with ``airflow pools set leadsquared_api 4 ...``).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task
from leadsquared_settings import (
    API_POOL,
    BASE_PATH,
    FILE_FORMAT,
    LEADS_PER_BATCH,
    LEADSQUARED_CONN_ID,
    SQL_CONN_ID,
    SQL_TABLE,
)

from airflow_provider_leadact.airflow_compat import CronDataIntervalTimetable, TriggerRule
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivityFilesToSqlOperator,
    LeadSquaredRecentlyModifiedLeadsOperator,
)
from airflow_provider_leadact.operators.load import file_urls
from airflow_provider_leadact.sinks.object_storage import asset_for_path, remove_stale_files

PARTITION = BASE_PATH + "/activities/interval_start={{ data_interval_start | ts_nodash }}"

with DAG(
    dag_id="leadsquared_activities_daily",
    description="LeadSquared activities of the leads modified each day, to files and SQL",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=2,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["leadsquared"],
    doc_md=__doc__,
) as dag:
    modified_leads = LeadSquaredRecentlyModifiedLeadsOperator(
        task_id="modified_leads",
        from_date="{{ data_interval_start }}",
        to_date="{{ data_interval_end }}",
        batch_size=LEADS_PER_BATCH,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
    )

    fetch_activities = LeadSquaredActivitiesToObjectStorageOperator.partial(
        task_id="fetch_activities",
        path=PARTITION + "/part-{{ '%05d' % ti.map_index }}." + FILE_FORMAT,
        base_path=BASE_PATH,  # a rendered path outside the configured storage is refused
        file_format=FILE_FORMAT,
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
        # Mapped tasks take their outlets from partial(): one Asset for every partition.
        outlets=[asset_for_path(PARTITION)],
    ).expand(lead_ids=modified_leads.output)

    load_to_sql = LeadSquaredActivityFilesToSqlOperator(
        task_id="load_to_sql",
        paths=fetch_activities.output,
        conn_id=SQL_CONN_ID,
        table=SQL_TABLE,
    )

    # none_failed: also after an interval without modified leads (the fetch is then skipped),
    # where every part an earlier run wrote is stale.
    @task(trigger_rule=TriggerRule.NONE_FAILED)
    def prune_stale_parts(partition: str, written: list[dict] | None) -> list[str]:
        return remove_stale_files(partition, file_urls(written))

    prune = prune_stale_parts(PARTITION, fetch_activities.output)

    modified_leads >> fetch_activities >> [load_to_sql, prune]
