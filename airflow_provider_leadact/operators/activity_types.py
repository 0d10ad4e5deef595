"""The account's activity types into SQL, beside the activities: what event codes and ``mx_`` fields mean."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_leadact import lineage
from airflow_provider_leadact.activity_types import FIELD_COLUMNS, TYPE_COLUMNS, TYPES_PATH
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.sinks.activity_types import (
    DEFAULT_FIELDS_TABLE,
    DEFAULT_TYPES_TABLE,
    ActivityTypesSqlSink,
    check_tables,
)
from airflow_provider_leadact.sinks.sql import sql_asset

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context


class LeadSquaredActivityTypesToSqlOperator(BaseOperator):
    """Write the account's activity types and their custom fields to two tables, at most once a UTC day.

    An activity holds ``event_code`` 201 and ``activity_fields`` ``{"mx_Custom_3": ...}``;
    these tables say that 201 is "Follow Up Scheduled" and ``mx_Custom_3`` its "Follow-up
    Notes", so analysts can join them to the activities table (the README shows the SQL).

    **Two tables**, with the columns declared in
    :data:`~airflow_provider_leadact.activity_types.TYPE_COLUMNS` and
    :data:`~airflow_provider_leadact.activity_types.FIELD_COLUMNS`:

    - ``table`` (default ``leadsquared_activity_types``): one row per event code, key
      ``event_code``: its name, category, whether it is custom, and when it was read;
    - ``fields_table`` (default ``leadsquared_activity_type_fields``): one row per custom field,
      key ``(event_code, schema_name)``: its display name, data type, whether it is mandatory,
      its option set (JSON), and when it was read.

    Not one table with the type's columns repeated on each field's row: most types (every
    system type) have no custom field, and in one table they would need a placeholder row
    whose ``schema_name`` is empty, which every query of fields would have to exclude and
    every count of types would have to de-duplicate. Two tables keep one grain each: a
    type is one row whether it has 0 or 50 fields, a field one row, each with a real key,
    and reading ``mx_Custom_3`` by its name is one join on ``(event_code, schema_name)``.

    **At most one refresh per UTC day.** The tables record when the catalogue was read
    (``refreshed_at``). When that is today (UTC, by the worker's clock), the task makes no API
    call and returns ``skipped``: a 90-day backfill of a daily DAG reads the catalogue once,
    on its first run. ``force=True`` refreshes anyway. Each run of the task waits for the
    previous one (``max_active_tis_per_dag=1`` unless given), so runs started together by a
    backfill do not each refresh before the first has written.

    A refresh replaces both tables' contents in one transaction (types and fields that no
    longer exist go), so reruns and retries leave the same rows. An event code the catalogue
    does not describe is not an error: its activities join to nothing.

    Unless ``outlets`` is given, the task updates the Assets of both tables
    (``leadsquared-sql://<conn_id>/<table>``).

    :param conn_id: the Airflow connection of the database (sqlite, postgres, mysql, ...).
    :param table: the types table, optionally ``schema.table``; created when missing.
    :param fields_table: the custom fields table, optionally ``schema.table``; created when missing.
    :param leadsquared_conn_id: the LeadSquared connection.
    :param force: refresh even when the tables were refreshed today.
    """

    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        conn_id: str,
        table: str = DEFAULT_TYPES_TABLE,
        fields_table: str = DEFAULT_FIELDS_TABLE,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        force: bool = False,
        **kwargs: Any,
    ) -> None:
        check_tables(conn_id, table, fields_table)
        if not isinstance(force, bool):
            raise LeadSquaredConfigError(f"force must be True or False, got {force!r}")
        if not leadsquared_conn_id or not isinstance(leadsquared_conn_id, str):
            raise LeadSquaredConfigError("leadsquared_conn_id is empty: pass the LeadSquared connection's id")
        kwargs.setdefault("max_active_tis_per_dag", 1)
        if "outlets" not in kwargs:
            kwargs["outlets"] = [sql_asset(conn_id, table), sql_asset(conn_id, fields_table)]
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.table = table
        self.fields_table = fields_table
        self.leadsquared_conn_id = leadsquared_conn_id
        self.force = force

    def execute(self, context: Context) -> dict[str, Any]:
        """Refresh the tables unless they were refreshed today (UTC); return a summary.

        :return: ``types`` and ``fields`` (rows the tables hold), ``skipped``, ``api_calls``,
            ``refreshed_at`` (ISO, UTC) and ``location``.
        """
        sink = ActivityTypesSqlSink(self.conn_id, self.table, self.fields_table)
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        # The LeadSquared connection is checked before the tables are created, both before any call.
        hook.settings  # noqa: B018
        sink.prepare()
        self._written: tuple[int, int] | None = None
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        last = None if self.force else sink.last_refreshed()
        if last is not None and last.date() >= now.date():
            types, fields = sink.counts()
            self._written = (0, 0)
            self.log.info(
                "Activity types in %s were refreshed at %s UTC, today: no API call (force=True refreshes again)",
                sink.location,
                last,
            )
            return self._summary(types, fields, skipped=True, api_calls=0, refreshed_at=last, location=sink.location)
        try:
            catalogue = hook.get_activity_types()
        finally:
            hook.close()
        types, fields, refreshed_at = sink.replace(catalogue, now)
        self._written = (types, fields)
        api_calls = int(hook.stats.get("calls", 0))
        self.log.info(
            "Wrote %d activity types (%d custom) and %d custom fields to %s (%d API calls)",
            types,
            sum(1 for item in catalogue if item["is_custom"]),
            fields,
            sink.location,
            api_calls,
        )
        return self._summary(
            types, fields, skipped=False, api_calls=api_calls, refreshed_at=refreshed_at, location=sink.location
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the catalogue endpoint read, and both tables with their
        columns and the rows written (none on a day's later runs, which read nothing)."""
        types, fields = getattr(self, "_written", None) or (None, None)
        return lineage.operator_lineage(
            inputs=[lineage.read(lineage.source_dataset(self.leadsquared_conn_id, TYPES_PATH))],
            outputs=[
                lineage.written(lineage.table_dataset(self.conn_id, self.table), TYPE_COLUMNS, types),
                lineage.written(lineage.table_dataset(self.conn_id, self.fields_table), FIELD_COLUMNS, fields),
            ],
        )

    @staticmethod
    def _summary(
        types: int, fields: int, *, skipped: bool, api_calls: int, refreshed_at: datetime, location: str
    ) -> dict[str, Any]:
        return {
            "types": types,
            "fields": fields,
            "skipped": skipped,
            "api_calls": api_calls,
            "refreshed_at": refreshed_at.isoformat(sep=" "),
            "location": location,
        }
