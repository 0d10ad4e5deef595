"""Operators that fetch the activities of lead ids and write them to a sink.

Both operators share one path, :class:`LeadSquaredActivitiesBaseOperator`: lead ids are
normalised and validated, the sink is prepared, then the hook fetches activities concurrently,
every activity is flattened once (:func:`~airflow_provider_leadact.records.flatten_activity`)
and the records stream into the sink. They differ only in the sink they build.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators.progress import FetchProgress
from airflow_provider_leadact.records import flatten_activity
from airflow_provider_leadact.sinks.base import DEFAULT_BATCH_SIZE, ActivitySink, Record, validate_batch_size
from airflow_provider_leadact.sinks.formats import validate_file_format
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink, asset_for_path, check_storage_path
from airflow_provider_leadact.sinks.sql import DEFAULT_TABLE, SqlSink, sql_asset, validate_table_name
from airflow_provider_leadact.validation import parse_lead_ids, validate_activity_event

if TYPE_CHECKING:
    from airflow.sdk import Context


class LeadSquaredActivitiesBaseOperator(BaseOperator, abc.ABC):
    """Fetch the activities of lead ids through :class:`LeadSquaredHook` and write them to a sink.

    Subclasses build the sink (:meth:`make_sink`). Everything templated is validated in
    :meth:`execute` before the first API call; nothing is read or fetched in ``__init__``.

    :param lead_ids: lead ids (ProspectIDs): a list, an ``XComArg`` of one, nested lists from
        mapped upstream tasks, one id, or a comma- or newline-separated string. Duplicates are
        dropped, keeping first-seen order. (templated)
    :param leadsquared_conn_id: the LeadSquared connection.
    :param activity_event: only activities with this event code (e.g. 201); None for all.
        (templated)
    :param get_file_url: ask the API for URLs of files uploaded to custom objects.
    :param batch_size: records per write to the sink.
    """

    template_fields: Sequence[str] = ("lead_ids", "activity_event")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        lead_ids: Any,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        activity_event: int | str | None = None,
        get_file_url: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lead_ids = lead_ids
        self.leadsquared_conn_id = leadsquared_conn_id
        self.activity_event = activity_event
        self.get_file_url = get_file_url
        self.batch_size = validate_batch_size(batch_size)

    def render_template(
        self, content: Any, context: Any, jinja_env: Any = None, seen_oids: set[int] | None = None
    ) -> Any:
        """Render as Airflow does, but leave a string without any template marker as it is.

        Airflow compiles a Jinja template for every string of a templated list: a literal list
        of 100,000 lead ids would take minutes of CPU to render into itself.
        """
        if isinstance(content, str) and not self.template_ext:
            env = jinja_env or self.get_template_env()
            markers = (
                env.block_start_string,
                env.variable_start_string,
                env.comment_start_string,
                env.line_statement_prefix,
                env.line_comment_prefix,
            )
            if not any(marker and marker in content for marker in markers):
                return content
        return super().render_template(content, context, jinja_env, seen_oids)

    @abc.abstractmethod
    def make_sink(self) -> ActivitySink:
        """Build the sink from the rendered parameters (no I/O)."""

    def execute(self, context: Context) -> dict[str, Any]:
        """Fetch and write; return a summary (leads, activities, where written, API calls)."""
        lead_ids = parse_lead_ids(self.lead_ids)
        event = validate_activity_event(self.activity_event)
        sink = self.make_sink()
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        # The connection is read and checked (keys, host, extras) before the sink creates a
        # table or folder; a destination that cannot work fails next. Both before any API call.
        hook.settings  # noqa: B018
        sink.prepare()
        progress = FetchProgress(len(lead_ids), self.log, lambda: hook.stats)
        self.log.info(
            "Fetching activities%s of %d leads into %s",
            f" (event {event})" if event is not None else "",
            len(lead_ids),
            sink.location,
        )
        try:
            written = sink.write(self._records(hook, lead_ids, event, progress))
        finally:
            hook.close()
        stats = hook.stats
        summary: dict[str, Any] = {
            "leads": len(lead_ids),
            "activities": written,
            "location": sink.location,
            "activity_event": event,
            "api_calls": int(stats.get("calls", 0)),
            "rate_limit_waits": int(stats.get("rate_limit_waits", 0)),
        }
        self.log.info("Wrote %d activities of %d leads to %s", written, len(lead_ids), sink.location)
        self._annotate_asset_events(context, summary)
        return summary

    def _records(
        self, hook: LeadSquaredHook, lead_ids: list[str], event: int | None, progress: FetchProgress
    ) -> Iterator[Record]:
        # Each lead's activities arrive as one list when the lead completes (in completion
        # order); they are flattened and handed on one by one so the sink can stream them.
        for lead_id, activities in hook.iter_leads_activities(
            lead_ids, activity_event=event, get_file_url=self.get_file_url
        ):
            for activity in activities:
                yield flatten_activity(activity, lead_id)
            progress.lead_done(len(activities))

    def _annotate_asset_events(self, context: Context, summary: dict[str, Any]) -> None:
        """Attach the summary to the asset events this task emits, for downstream DAGs to read."""
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                outlet_events[outlet].extra.update({key: summary[key] for key in ("leads", "activities", "location")})


class LeadSquaredActivitiesToObjectStorageOperator(LeadSquaredActivitiesBaseOperator):
    """Write the activities of lead ids to one file in object storage (local, S3, GCS, ...).

    The file is complete or absent: a reader never sees a half-written object, and a rerun
    replaces the file (see :class:`~airflow_provider_leadact.sinks.object_storage.ObjectStorageSink`).
    Template the path by data interval (and map index, when mapped) to get one partition per run.

    Unless ``outlets`` is given, the task updates the Asset of the folder before the first
    template expression in ``path`` (see :func:`~airflow_provider_leadact.sinks.object_storage.asset_for_path`).
    Mapped tasks get their ``outlets`` from ``partial()``: pass ``outlets=[asset_for_path(path)]``.

    :param path: an ``ObjectStoragePath`` URL of the file, e.g.
        ``file:///data/ls/{{ ds }}/part-{{ ti.map_index }}.jsonl`` or
        ``s3://aws_default@bucket/ls/{{ ds }}/activities.parquet``. (templated)
    :param file_format: ``jsonl`` (default), ``csv`` or ``parquet`` (``parquet`` extra).
    :param base_path: the configured storage (not templated): when given, the rendered ``path``
        must lie inside this folder, e.g. ``s3://aws_default@bucket/leadsquared``; a rendered
        path outside it, or with a ``..`` segment, is refused before any API call.

    The other parameters are those of :class:`LeadSquaredActivitiesBaseOperator`.
    """

    template_fields: Sequence[str] = (*LeadSquaredActivitiesBaseOperator.template_fields, "path")

    def __init__(self, *, path: str, file_format: str = "jsonl", base_path: str | None = None, **kwargs: Any) -> None:
        if "outlets" not in kwargs and isinstance(path, str) and path.strip():
            kwargs["outlets"] = [asset_for_path(path)]
        super().__init__(**kwargs)
        self.path = path
        self.file_format = validate_file_format(file_format)
        if base_path is not None:
            check_storage_path(base_path, name="base_path", folder=True)
        self.base_path = base_path

    def make_sink(self) -> ObjectStorageSink:
        return ObjectStorageSink(
            self.path, file_format=self.file_format, batch_size=self.batch_size, base_path=self.base_path
        )


class LeadSquaredActivitiesToSqlOperator(LeadSquaredActivitiesBaseOperator):
    """Upsert the activities of lead ids into a table of any Airflow SQL connection.

    The table is created when missing (typed columns, JSON columns, primary key ``id``; see
    :mod:`~airflow_provider_leadact.sinks.sql`) and rows are upserted by ``id`` in batches,
    so reruns and backfills never duplicate a row. Unless ``outlets`` is given, the task
    updates the Asset ``leadsquared-sql://<conn_id>/<table>``.

    :param conn_id: the Airflow connection of the database (sqlite, postgres, mysql, ...).
    :param table: the table, optionally ``schema.table``; plain identifiers only.

    The other parameters are those of :class:`LeadSquaredActivitiesBaseOperator`.
    """

    def __init__(self, *, conn_id: str, table: str = DEFAULT_TABLE, **kwargs: Any) -> None:
        validate_table_name(table)
        if "outlets" not in kwargs:
            kwargs["outlets"] = [sql_asset(conn_id, table)]
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.table = table

    def make_sink(self) -> SqlSink:
        return SqlSink(self.conn_id, table=self.table, batch_size=self.batch_size)
