"""Manual LeadSquared activities: the lead ids given when triggering, to a file and SQL.

Trigger from the UI with the lead ids (comma- or newline-separated ProspectIDs) and,
optionally, an activity event code. ``to_file`` fetches the activities once into a file keyed
on the run id (each run keeps its own); ``to_sql`` loads that file into the table, upserting
by activity id, so file and table hold the same fetch and the API budget is spent once.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_leadact.example_dags.leadsquared_settings import (
    API_POOL,
    BASE_PATH,
    FILE_FORMAT,
    LEADSQUARED_CONN_ID,
    SQL_CONN_ID,
    SQL_TABLE,
)
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivityFilesToSqlOperator,
)

with DAG(
    dag_id="leadsquared_activities_manual",
    description="LeadSquared activities of chosen leads, to a file and SQL",
    schedule=None,
    start_date=pendulum.datetime(2025, 1, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=1)},
    params={
        "lead_ids": Param(
            "",
            type="string",
            minLength=36,
            title="Lead ids",
            description="ProspectIDs (GUIDs), separated by commas or new lines.",
            format="multiline",
        ),
        "activity_event": Param(
            None,
            type=["null", "integer"],
            title="Activity event",
            description="Only activities with this event code (e.g. 201); empty for all.",
        ),
    },
    tags=["leadsquared"],
    doc_md=__doc__,
) as dag:
    to_file = LeadSquaredActivitiesToObjectStorageOperator(
        task_id="to_file",
        lead_ids="{{ params.lead_ids }}",
        activity_event="{{ params.activity_event if params.activity_event is not none else '' }}",
        leadsquared_conn_id=LEADSQUARED_CONN_ID,
        pool=API_POOL,
        path=BASE_PATH + "/manual/{{ run_id | replace(':', '_') | replace('+', '_') }}/activities." + FILE_FORMAT,
        base_path=BASE_PATH,  # a rendered path outside the configured storage is refused
        file_format=FILE_FORMAT,
    )
    to_sql = LeadSquaredActivityFilesToSqlOperator(
        task_id="to_sql", paths=to_file.output, conn_id=SQL_CONN_ID, table=SQL_TABLE
    )
