"""What the operators read and wrote, as OpenLineage datasets, for the OpenLineage provider.

The operators' ``get_openlineage_facets_on_complete`` build their answer here, after the task
ran, from their rendered parameters and the rows they counted. Datasets are named as the
OpenLineage naming spec says: a LeadSquared endpoint ``leadsquared://<API host>`` +
``ProspectActivity.svc/...`` (never a key), a local file ``file`` + its path, an object
``s3://<bucket>`` / ``gs://<bucket>`` + its key, a table the namespace its SQL hook gives
(``get_openlineage_database_info``; else ``<conn_type>://<host>:<port>``) +
``database.schema.table``. Outputs carry the schema facet (their declared columns and types)
and the output statistics (rows written).

OpenLineage is imported only inside these functions, which only the provider's listener calls:
without the provider installed nothing here is imported, and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_leadact.records import Column

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset

#: The scheme of LeadSquared sources: ``leadsquared://<API host>``.
SOURCE_SCHEME = "leadsquared"
#: Object store protocols whose OpenLineage namespace is spelt otherwise.
_STORE_SCHEMES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}


def source_dataset(leadsquared_conn_id: str, endpoint_path: str) -> Dataset:
    """The LeadSquared endpoint a task read, e.g. ``leadsquared://api-in21.leadsquared.com`` +
    ``ProspectActivity.svc/Retrieve``.

    :param endpoint_path: the endpoint's path as the client sends it (``/v2/...``).
    """
    from openlineage.client.event_v2 import Dataset

    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    # The connection's API host (read, never called); its keys stay out of the name.
    host = urlsplit(LeadSquaredHook(leadsquared_conn_id=leadsquared_conn_id).settings.base_url).netloc
    return Dataset(namespace=f"{SOURCE_SCHEME}://{host}", name=endpoint_path.removeprefix("/").removeprefix("v2/"))


def file_dataset(url: str) -> Dataset:
    """A file of object storage, from its URL (the Airflow connection in its user info is left out)."""
    from openlineage.client.event_v2 import Dataset

    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if len(scheme) <= 1 or scheme in ("file", "local"):  # a plain path, or a drive letter
        return Dataset(namespace="file", name=parts.path if len(scheme) > 1 else url.strip())
    bucket = parts.netloc.rpartition("@")[2]
    return Dataset(namespace=f"{_STORE_SCHEMES.get(scheme, scheme)}://{bucket}", name=parts.path.lstrip("/"))


def table_dataset(conn_id: str, table: str) -> Dataset:
    """A table of an Airflow SQL connection, named as its hook's OpenLineage support says.

    :param table: ``table`` or ``schema.table``.
    """
    from openlineage.client.event_v2 import Dataset

    from airflow_provider_leadact.sinks.sql import sql_hook

    hook = sql_hook(conn_id)
    connection = hook.get_connection(hook.get_conn_id())
    info = hook.get_openlineage_database_info(connection)
    schema, _, name = table.rpartition(".")
    if info is not None:
        from airflow.providers.openlineage.sqlparser import SQLParser

        namespace = SQLParser.create_namespace(info)
        parts = [info.database, schema or hook.get_openlineage_default_schema(), name]
        normalize = info.normalize_name_method
        parts = [normalize(part) if part else part for part in parts]
    else:
        # No OpenLineage support in the hook (SQLite's): the connection's own address.
        authority = connection.host or ""
        if connection.port:
            authority += f":{connection.port}"
        namespace = f"{connection.conn_type}://{authority}"
        parts = [connection.schema, schema, name]
    return Dataset(namespace=namespace, name=".".join(part for part in parts if part))


def read(dataset: Dataset) -> InputDataset:
    """``dataset`` as an input."""
    from openlineage.client.event_v2 import InputDataset

    return InputDataset(namespace=dataset.namespace, name=dataset.name)


def written(dataset: Dataset, columns: Sequence[Column], rows: int | None) -> OutputDataset:
    """``dataset`` as an output with its columns (schema facet) and the rows written (output statistics).

    :param rows: rows written by this task; None when unknown (no statistics are reported).
    """
    from openlineage.client.event_v2 import OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset, schema_dataset

    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=c.name, type=c.type.value) for c in columns]
    )
    output_facets: dict[str, Any] = {}
    if rows is not None:
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=rows
        )
    return OutputDataset(
        namespace=dataset.namespace, name=dataset.name, facets={"schema": schema}, outputFacets=output_facets
    )


def operator_lineage(inputs: Iterable[InputDataset] = (), outputs: Iterable[OutputDataset] = ()) -> OperatorLineage:
    """What a task read and wrote, as the OpenLineage provider's extractors take it."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=list(inputs), outputs=list(outputs))
