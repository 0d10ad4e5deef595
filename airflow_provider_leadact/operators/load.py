"""Load activity files already written to object storage into a SQL table.

The daily pipeline fetches each lead's activities once, lands them as JSON Lines files, then
loads those files: the API budget is spent once however many destinations follow.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath

from airflow_provider_leadact import lineage
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import RECORD_COLUMNS
from airflow_provider_leadact.sinks.base import DEFAULT_BATCH_SIZE, Record, validate_batch_size
from airflow_provider_leadact.sinks.formats import FORMATS, format_of_file
from airflow_provider_leadact.sinks.sql import DEFAULT_TABLE, SqlSink, sql_asset, validate_table_name

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context


def file_urls(value: Any) -> list[str]:
    """Collect file URLs from a list of URLs or of summaries (dicts with a ``location``), nested or not."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, dict):
        if "location" not in value:
            raise LeadSquaredConfigError(f"paths: a summary without 'location': {sorted(value)}")
        return file_urls(value["location"])
    urls: list[str] = []
    for item in value:
        urls.extend(url for url in file_urls(item) if url not in urls)
    return urls


class LeadSquaredActivityFilesToSqlOperator(BaseOperator):
    """Upsert the activities in files written by the object storage operator (JSON Lines, CSV, Parquet) into a table.

    Same table and upsert as :class:`~airflow_provider_leadact.operators.activities.LeadSquaredActivitiesToSqlOperator`:
    rows keyed by activity ``id``, so loading a file twice changes nothing.

    :param paths: file URLs, or the summaries the object storage operator returns (e.g. the
        ``output`` of a mapped fetch task); nested lists are flattened. (templated)
    :param conn_id: the Airflow connection of the database.
    :param table: the table, optionally ``schema.table``; created when missing.
    :param batch_size: rows per INSERT batch and transaction.
    """

    template_fields: Sequence[str] = ("paths",)
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        paths: Any,
        conn_id: str,
        table: str = DEFAULT_TABLE,
        batch_size: int = DEFAULT_BATCH_SIZE,
        **kwargs: Any,
    ) -> None:
        validate_table_name(table)
        if "outlets" not in kwargs:
            kwargs["outlets"] = [sql_asset(conn_id, table)]
        super().__init__(**kwargs)
        self.paths = paths
        self.conn_id = conn_id
        self.table = table
        self.batch_size = validate_batch_size(batch_size)

    def execute(self, context: Context) -> dict[str, Any]:
        """Load every file; return a summary (files, activities, table)."""
        # Kept for lineage: the rendered paths may be a lazy XCom sequence, read once here.
        urls = self._urls = file_urls(self.paths)
        for url in urls:
            if format_of_file(url) is None:
                raise LeadSquaredConfigError(
                    f"{url}: only files written by the object storage operator can be loaded (.{', .'.join(FORMATS)})"
                )
        sink = SqlSink(self.conn_id, table=self.table, batch_size=self.batch_size)
        sink.prepare()
        self._written: int | None = None
        written = self._written = sink.write(self._records(urls))
        self.log.info("Loaded %d activities from %d files into %s", written, len(urls), sink.location)
        return {"files": len(urls), "activities": written, "location": sink.location}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the files read, and the table written with its columns and rows."""
        return lineage.operator_lineage(
            inputs=[lineage.read(lineage.file_dataset(url)) for url in getattr(self, "_urls", [])],
            outputs=[
                lineage.written(
                    lineage.table_dataset(self.conn_id, self.table), RECORD_COLUMNS, getattr(self, "_written", None)
                )
            ],
        )

    def _records(self, urls: list[str]) -> Iterator[Record]:
        for url in urls:
            file_format = format_of_file(url)
            assert file_format is not None  # checked in execute()
            with ObjectStoragePath(url).open("rb") as file:
                yield from file_format.read(file)
