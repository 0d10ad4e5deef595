"""Operators that fetch activities and write them to a sink (object storage or SQL).

Every operator here shares one path, :class:`LeadSquaredToSinkOperator`: input is validated,
the sink is prepared, then the hook fetches, every activity is flattened once
(:func:`~airflow_provider_leadact.records.flatten_activity`) and the records stream into the
sink. Where activities come from is one base class: the activities of lead ids
(:class:`LeadSquaredActivitiesBaseOperator`, optionally only those changed in a window), or
the activities changed in a window, listed directly
(:class:`LeadSquaredChangedActivitiesBaseOperator`). Where they go is one mixin:
:class:`ObjectStorageSinkMixin` or :class:`SqlSinkMixin`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

from airflow_provider_leadact import lineage
from airflow_provider_leadact.endpoints import ACTIVITIES_PATH, DATE_RANGE_PATH
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators.deferral import DailyCapDeferrable
from airflow_provider_leadact.operators.progress import FetchProgress, WindowProgress
from airflow_provider_leadact.records import RECORD_COLUMNS, flatten_activity
from airflow_provider_leadact.sinks.base import DEFAULT_BATCH_SIZE, ActivitySink, Record, validate_batch_size
from airflow_provider_leadact.sinks.formats import validate_file_format
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink, asset_for_path, check_storage_path
from airflow_provider_leadact.sinks.sql import DEFAULT_TABLE, SqlSink, sql_asset, validate_table_name
from airflow_provider_leadact.times import parse_api_time
from airflow_provider_leadact.validation import (
    EventCode,
    Window,
    optional_window,
    parse_fetch_plan,
    validate_activity_event,
)

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context
    from openlineage.client.event_v2 import Dataset


class LeadSquaredToSinkOperator(DailyCapDeferrable, abc.ABC):
    """Fetch activities through :class:`LeadSquaredHook` and write them to a sink.

    Subclasses say where activities come from (:meth:`check_input`, :meth:`records`) and,
    through a sink mixin, where they go (:meth:`make_sink`). Everything templated is validated
    in :meth:`execute` before the first API call; nothing is read or fetched in ``__init__``.
    A task that meets the account's daily cap defers until the UTC day resets, then runs again
    (see :mod:`~airflow_provider_leadact.operators.deferral`).

    :param leadsquared_conn_id: the LeadSquared connection.
    :param activity_event: only activities with this event code (e.g. 201); None for all.
        (templated)
    :param batch_size: records per write to the sink.
    """

    template_fields: Sequence[str] = ("activity_event",)
    ui_color = "#e6f0ff"
    #: The endpoint activities are read from, for lineage.
    lineage_endpoint: str

    def __init__(
        self,
        *,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        activity_event: int | str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.leadsquared_conn_id = leadsquared_conn_id
        self.activity_event = activity_event
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

    @abc.abstractmethod
    def check_input(self) -> dict[str, Any]:
        """Validate the rendered input (before any call); return what the summary reports of it."""

    @abc.abstractmethod
    def records(self, hook: LeadSquaredHook, event: EventCode | None) -> Iterator[Record]:
        """Fetch and flatten the activities (input already checked by :meth:`check_input`)."""

    @abc.abstractmethod
    def lineage_output(self) -> Dataset:
        """The OpenLineage dataset the sink writes (after templating)."""

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the LeadSquared endpoint read, and the file or table written
        with its columns and the activities written."""
        return lineage.operator_lineage(
            inputs=[lineage.read(lineage.source_dataset(self.leadsquared_conn_id, self.lineage_endpoint))],
            outputs=[lineage.written(self.lineage_output(), RECORD_COLUMNS, getattr(self, "_written", None))],
        )

    def execute(self, context: Context) -> dict[str, Any]:
        """Fetch and write; return a summary (leads, activities, where written, API calls)."""
        self._unit, self._written = "the task's leads", 0
        return self.within_daily_cap(
            lambda: self._fetch_and_write(context),
            unit=lambda: self._unit,
            done=lambda: f"{self._written} activities fetched, {self.kept_when_interrupted()}",
        )

    def kept_when_interrupted(self) -> str:
        """What the sink keeps of a unit interrupted midway (for the log)."""
        return "none kept"

    def _fetch_and_write(self, context: Context) -> dict[str, Any]:
        described = self.check_input()
        if "window" in described:
            self._unit = f"the activities changed in {described['window']}"
        if "leads" in described:
            self._unit = f"the {described['leads']} leads of this task" + (
                f" (their activities changed in {described['window']})" if "window" in described else ""
            )
        event = validate_activity_event(self.activity_event)
        sink = self.make_sink()
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        # The connection is read and checked (keys, host, extras) before the sink creates a
        # table or folder; a destination that cannot work fails next. Both before any API call.
        hook.settings  # noqa: B018
        sink.prepare()
        self.log.info("Fetching activities%s into %s", f" (event {event})" if event is not None else "", sink.location)
        self.late_summary: dict[str, Any] = {}
        try:
            written = sink.write(self._counted(self.records(hook, event)))
        finally:
            hook.close()
        stats = hook.stats
        summary: dict[str, Any] = {
            **described,
            **self.late_summary,
            "activities": written,
            "location": sink.location,
            "activity_event": event,
            "api_calls": int(stats.get("calls", 0)),
            "rate_limit_waits": int(stats.get("rate_limit_waits", 0)),
            "api_calls_today": int(stats.get("calls_today", 0)),
        }
        self.log.info("Wrote %d activities to %s (%d API calls)", written, sink.location, summary["api_calls"])
        self._annotate_asset_events(context, summary)
        return summary

    def _counted(self, records: Iterator[Record]) -> Iterator[Record]:
        for record in records:
            self._written += 1
            yield record

    def _annotate_asset_events(self, context: Context, summary: dict[str, Any]) -> None:
        """Attach the summary to the asset events this task emits, for downstream DAGs to read."""
        outlet_events = context.get("outlet_events")
        if outlet_events is None:
            return
        keys = [key for key in ("leads", "activities", "location", "window") if key in summary]
        for outlet in self.outlets:
            if isinstance(outlet, Asset):
                outlet_events[outlet].extra.update({key: summary[key] for key in keys})


class LeadSquaredActivitiesBaseOperator(LeadSquaredToSinkOperator):
    """Fetch the activities of lead ids, lead by lead, and write them to a sink.

    With a window (``changed_from`` and ``changed_to``) only the activities whose ``ModifiedOn``
    lies in ``[changed_from, changed_to)`` are written; given the mapping that
    :class:`~airflow_provider_leadact.operators.leads.LeadSquaredChangedLeadsOperator` returns
    as ``lead_ids``, each lead stops paging as soon as the rest of its history cannot hold a
    change, so a lead costs about one call whatever its history's length.

    :param lead_ids: lead ids (ProspectIDs): a list, an ``XComArg`` of one, nested lists from
        mapped upstream tasks, one id, or a comma- or newline-separated string; with a window
        also a mapping ``{lead id: floor}`` (a floor is an API time ``YYYY-MM-DD HH:MM:SS`` or
        None). Both XCom shapes of the lead-listing operators are accepted: the batches of ids of
        :class:`~airflow_provider_leadact.operators.leads.LeadSquaredRecentlyModifiedLeadsOperator`
        and the ``{lead id: floor}`` batches of
        :class:`~airflow_provider_leadact.operators.leads.LeadSquaredChangedLeadsOperator`.
        Duplicates are dropped, keeping first-seen order. (templated)
    :param changed_from: start of the window, included, e.g. ``{{ data_interval_start }}``;
        None for every activity. (templated)
    :param changed_to: end of the window, excluded, e.g. ``{{ data_interval_end }}``. (templated)
    :param get_file_url: ask the API for URLs of files uploaded to custom objects.

    The other parameters are those of :class:`LeadSquaredToSinkOperator`.
    """

    template_fields: Sequence[str] = ("lead_ids", "activity_event", "changed_from", "changed_to")
    lineage_endpoint = ACTIVITIES_PATH

    def __init__(
        self,
        *,
        lead_ids: Any,
        changed_from: Any = None,
        changed_to: Any = None,
        get_file_url: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.lead_ids = lead_ids
        self.changed_from = changed_from
        self.changed_to = changed_to
        self.get_file_url = get_file_url

    def check_input(self) -> dict[str, Any]:
        self._window = optional_window(self.changed_from, self.changed_to)
        # Floors only mean something within a window: without one a mapping is refused.
        self._plan = parse_fetch_plan(self.lead_ids, floors=self._window is not None)
        described: dict[str, Any] = {"leads": len(self._plan)}
        if self._window is not None:
            described["window"] = str(self._window)
        return described

    def records(self, hook: LeadSquaredHook, event: EventCode | None) -> Iterator[Record]:
        self.log.info("%d leads%s", len(self._plan), f", activities changed in {self._window}" if self._window else "")
        # Each lead's activities arrive as one list when the lead completes (in completion
        # order); they are flattened and handed on one by one so the sink can stream them.
        with FetchProgress(len(self._plan), self.log, lambda: hook.stats) as progress:
            for lead_id, activities in hook.iter_planned_activities(
                self._plan, event, self.get_file_url, self._window, on_page=progress.page_fetched
            ):
                for activity in activities:
                    yield flatten_activity(activity, lead_id)
                progress.lead_done(len(activities))


class LeadSquaredChangedActivitiesBaseOperator(LeadSquaredToSinkOperator):
    """Write the activities changed in a window, of every lead, straight from the date-range listing.

    The cheap path for accounts whose daily call cap cannot afford a call per changed lead:
    a run costs the listing's pages. Rows the listing returns without every field the records
    are made of (and older activities only the change history names) are fetched from their
    lead, within the window; how complete the listing is is learned from its answers.

    :param from_date: start of the window, included, e.g. ``{{ data_interval_start }}``. (templated)
    :param to_date: end of the window, excluded, e.g. ``{{ data_interval_end }}``. (templated)

    The other parameters are those of :class:`LeadSquaredToSinkOperator`.
    """

    template_fields: Sequence[str] = ("activity_event", "from_date", "to_date")
    lineage_endpoint = DATE_RANGE_PATH

    def __init__(self, *, from_date: Any, to_date: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_date = from_date
        self.to_date = to_date

    def check_input(self) -> dict[str, Any]:
        self._window = Window.of(self.from_date, self.to_date)
        return {"window": str(self._window)}

    def records(self, hook: LeadSquaredHook, event: EventCode | None) -> Iterator[Record]:
        listing = hook.changed_listing(self._window, event)
        leads: set[str] = set()
        # Activities stream from the listing oldest first: progress is the share of the window reached.
        with WindowProgress(self._window, self.log, lambda: hook.stats) as progress:
            for lead_id, activity in hook.iter_listing_activities(listing):
                leads.add(lead_id)
                yield flatten_activity(activity, lead_id)
                progress.row(parse_api_time(activity.get("ModifiedOn")))
            progress.log_line()
        self.late_summary.update(
            leads=len(leads), listed=listing.listed, leads_fetched=len(listing.refetch), changes_named=listing.named
        )
        self.log.info(
            "Activities changed in %s: %d listed (%d written as listed), %d named only by the change history; "
            "%d leads fetched per lead; %d leads in all",
            self._window,
            listing.listed,
            listing.direct,
            listing.named,
            len(listing.refetch),
            len(leads),
        )


class ObjectStorageSinkMixin(BaseOperator):
    """Write to one file in object storage (local, S3, GCS, ...); mixed into the operators above.

    A ``BaseOperator`` itself so that Airflow records its parameters (``partial()`` checks them).

    The file is complete or absent: a reader never sees a half-written object, and a rerun
    replaces the file (see :class:`~airflow_provider_leadact.sinks.object_storage.ObjectStorageSink`).
    Template the path by data interval (and map index, when mapped) to get one partition per run.

    Unless ``outlets`` is given, the task updates the Asset of the folder before the first
    template expression in ``path`` (see :func:`~airflow_provider_leadact.operators.files_asset`).
    Mapped tasks get their ``outlets`` from ``partial()``: pass ``outlets=[files_asset(path)]``.

    :param path: an ``ObjectStoragePath`` URL of the file, e.g.
        ``file:///data/ls/{{ ds }}/part-{{ ti.map_index }}.jsonl`` or
        ``s3://aws_default@bucket/ls/{{ ds }}/activities.parquet``. (templated)
    :param file_format: ``jsonl`` (default), ``csv`` or ``parquet`` (``parquet`` extra).
    :param base_path: the configured storage (not templated): when given, the rendered ``path``
        must lie inside this folder, e.g. ``s3://aws_default@bucket/leadsquared``; a rendered
        path outside it, or with a ``..`` segment, is refused before any API call.
    """

    batch_size: int

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

    def kept_when_interrupted(self) -> str:
        return "none kept (a file is written whole or not at all)"

    def lineage_output(self) -> Dataset:
        return lineage.file_dataset(str(self.path))


class SqlSinkMixin(BaseOperator):
    """Upsert into a table of any Airflow SQL connection; mixed into the operators above.

    A ``BaseOperator`` itself so that Airflow records its parameters (``partial()`` checks them).

    The table is created when missing (typed columns, JSON columns, primary key ``id``; see
    :mod:`~airflow_provider_leadact.sinks.sql`) and rows are upserted by ``id`` in batches,
    so reruns and backfills never duplicate a row. Unless ``outlets`` is given, the task
    updates the Asset ``leadsquared-sql://<conn_id>/<table>``.

    :param conn_id: the Airflow connection of the database (sqlite, postgres, mysql, ...).
    :param table: the table, optionally ``schema.table``; plain identifiers only.
    """

    batch_size: int

    def __init__(self, *, conn_id: str, table: str = DEFAULT_TABLE, **kwargs: Any) -> None:
        validate_table_name(table)
        if "outlets" not in kwargs:
            kwargs["outlets"] = [sql_asset(conn_id, table)]
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self.table = table

    def make_sink(self) -> SqlSink:
        return SqlSink(self.conn_id, table=self.table, batch_size=self.batch_size)

    def kept_when_interrupted(self) -> str:
        return "those upserted stay in the table (upserted again, unchanged, when the unit runs again)"

    def lineage_output(self) -> Dataset:
        return lineage.table_dataset(self.conn_id, self.table)


class LeadSquaredActivitiesToObjectStorageOperator(ObjectStorageSinkMixin, LeadSquaredActivitiesBaseOperator):
    """Write the activities of lead ids (all, or those changed in a window) to one file in object storage.

    Parameters: those of :class:`ObjectStorageSinkMixin` and :class:`LeadSquaredActivitiesBaseOperator`.
    """

    template_fields: Sequence[str] = (*LeadSquaredActivitiesBaseOperator.template_fields, "path")


class LeadSquaredActivitiesToSqlOperator(SqlSinkMixin, LeadSquaredActivitiesBaseOperator):
    """Upsert the activities of lead ids (all, or those changed in a window) into a table.

    Parameters: those of :class:`SqlSinkMixin` and :class:`LeadSquaredActivitiesBaseOperator`.
    """


class LeadSquaredChangedActivitiesToObjectStorageOperator(
    ObjectStorageSinkMixin, LeadSquaredChangedActivitiesBaseOperator
):
    """Write the activities changed in a window, of every lead, to one file, from the date-range listing.

    Parameters: those of :class:`ObjectStorageSinkMixin` and :class:`LeadSquaredChangedActivitiesBaseOperator`.
    """

    template_fields: Sequence[str] = (*LeadSquaredChangedActivitiesBaseOperator.template_fields, "path")


class LeadSquaredChangedActivitiesToSqlOperator(SqlSinkMixin, LeadSquaredChangedActivitiesBaseOperator):
    """Upsert the activities changed in a window, of every lead, into a table, from the date-range listing.

    Parameters: those of :class:`SqlSinkMixin` and :class:`LeadSquaredChangedActivitiesBaseOperator`.
    """
