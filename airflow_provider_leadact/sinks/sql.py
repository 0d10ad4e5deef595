"""The SQL sink: upserts activities into a table through any Airflow SQL connection.

The table is created when missing, with typed columns and JSON columns (``JSONB`` on
PostgreSQL, ``JSON`` on MySQL, JSON text elsewhere), keyed by the activity ``id``. Rows are
upserted in batches with :meth:`DbApiHook.insert_rows` (``ON CONFLICT`` on PostgreSQL,
``REPLACE`` on SQLite and MySQL), so a rerun, retry or backfill of the same activities
leaves one row per activity, holding its latest values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import COLUMN_TYPES, COLUMNS, ColumnType
from airflow_provider_leadact.sinks.base import (
    DEFAULT_BATCH_SIZE,
    ActivitySink,
    Record,
    batched,
    validate_batch_size,
)
from airflow_provider_leadact.sinks.schema import to_json_text, typed_row

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

#: Default table name.
DEFAULT_TABLE = "leadsquared_activities"
#: The key rows are upserted on.
KEY_COLUMN = "id"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

#: SQL type of each logical column type, per SQLAlchemy dialect name; ``default`` otherwise.
#: Ids are bounded VARCHARs because MySQL cannot key on TEXT; LeadSquared ids are GUIDs.
SQL_TYPES: dict[str, dict[ColumnType, str]] = {
    "postgresql": {
        ColumnType.TEXT: "TEXT",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.FLOAT: "DOUBLE PRECISION",
        ColumnType.BOOLEAN: "BOOLEAN",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.JSON: "JSONB",
    },
    "mysql": {
        ColumnType.TEXT: "TEXT",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.FLOAT: "DOUBLE",
        ColumnType.BOOLEAN: "BOOLEAN",
        ColumnType.TIMESTAMP: "DATETIME(6)",
        ColumnType.JSON: "JSON",
    },
    "default": {
        ColumnType.TEXT: "TEXT",
        ColumnType.INTEGER: "BIGINT",
        ColumnType.FLOAT: "DOUBLE PRECISION",
        ColumnType.BOOLEAN: "BOOLEAN",
        ColumnType.TIMESTAMP: "TIMESTAMP",
        ColumnType.JSON: "TEXT",
    },
}
_ID_COLUMNS = {"id": "VARCHAR(64) NOT NULL PRIMARY KEY", "lead_id": "VARCHAR(64) NOT NULL"}


def validate_table_name(table: str) -> str:
    """Return ``table`` if it is an identifier, optionally schema-qualified (``schema.table``).

    The name is put into SQL text (DDL cannot take it as a parameter), so anything else,
    quotes included, is refused.

    :raises LeadSquaredConfigError: naming the expected form.
    """
    parts = table.split(".") if isinstance(table, str) else []
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.fullmatch(part) for part in parts):
        raise LeadSquaredConfigError(
            f"table {table!r} is not a plain SQL identifier: use letters, digits and underscores "
            "(at most 63, not starting with a digit), optionally as schema.table"
        )
    return table


def create_table_sql(table: str, dialect_name: str) -> str:
    """The ``CREATE TABLE IF NOT EXISTS`` statement of the activities table for a dialect."""
    types = SQL_TYPES.get(dialect_name, SQL_TYPES["default"])
    columns = ",\n    ".join(
        f"{column} {_ID_COLUMNS.get(column) or types[column_type]}" for column, column_type in COLUMN_TYPES.items()
    )
    return f"CREATE TABLE IF NOT EXISTS {validate_table_name(table)} (\n    {columns}\n)"


def create_keyed_table_sql(
    table: str, dialect_name: str, column_types: Mapping[str, ColumnType], key: Sequence[str]
) -> str:
    """The ``CREATE TABLE IF NOT EXISTS`` statement of a table with these columns and primary key.

    Key columns are ``NOT NULL``; a text key is a bounded ``VARCHAR`` (MySQL cannot key on TEXT).
    """
    types = SQL_TYPES.get(dialect_name, SQL_TYPES["default"])

    def column_sql(column: str, column_type: ColumnType) -> str:
        if column not in key:
            return types[column_type]
        return f"{'VARCHAR(255)' if column_type is ColumnType.TEXT else types[column_type]} NOT NULL"

    columns = [f"{column} {column_sql(column, column_type)}" for column, column_type in column_types.items()]
    columns.append(f"PRIMARY KEY ({', '.join(key)})")
    return f"CREATE TABLE IF NOT EXISTS {validate_table_name(table)} (\n    " + ",\n    ".join(columns) + "\n)"


def sql_hook(conn_id: str) -> DbApiHook:
    """The SQL hook of an Airflow connection (any ``DbApiHook``: sqlite, postgres, mysql, ...).

    :raises LeadSquaredConfigError: when the connection is not defined or is not a SQL one.
    """
    from airflow.exceptions import AirflowNotFoundException
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    try:
        hook = BaseHook.get_hook(conn_id)
    except AirflowNotFoundException:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r} is not defined: create the database connection (e.g. sqlite "
            f"or postgres) under Admin > Connections or set AIRFLOW_CONN_{conn_id.upper()}"
        ) from None
    if not isinstance(hook, DbApiHook):
        raise LeadSquaredConfigError(
            f"connection {conn_id!r} gives a {type(hook).__name__}, not a SQL "
            "(DbApiHook) connection: use a database connection such as sqlite or postgres"
        )
    return hook


def sql_asset(conn_id: str, table: str) -> Asset:
    """The Asset of an activities table, named by connection id and table."""
    return Asset(uri=f"leadsquared-sql://{conn_id}/{table}")


def cell_adapter(dialect_name: str) -> Callable[[Any, ColumnType], Any]:
    """How a typed value is handed to the driver of a dialect."""

    def adapt(value: Any, column_type: ColumnType) -> Any:
        if value is None:
            return None
        if column_type is ColumnType.JSON:
            return to_json_text(value)
        if dialect_name == "sqlite":
            # SQLite has no boolean or time types: keep the conventional 0/1 and the API's
            # own time text.
            if column_type is ColumnType.BOOLEAN:
                return int(value)
            if column_type is ColumnType.TIMESTAMP:
                return value.isoformat(sep=" ")
        return value

    return adapt


class SqlSink(ActivitySink):
    """Upserts records into a table of any Airflow SQL (``DbApiHook``) connection.

    :param conn_id: the Airflow connection of the database.
    :param table: the table, optionally ``schema.table``; created when missing.
    :param batch_size: rows per INSERT batch and transaction.
    """

    def __init__(self, conn_id: str, table: str = DEFAULT_TABLE, batch_size: int = DEFAULT_BATCH_SIZE):
        if not conn_id:
            raise LeadSquaredConfigError("conn_id is empty: pass the Airflow connection of the database")
        self.conn_id = conn_id
        self.table = validate_table_name(table)
        self.batch_size = validate_batch_size(batch_size)
        self._hook: DbApiHook | None = None
        self._prepared = False

    @property
    def location(self) -> str:
        return f"{self.conn_id}:{self.table}"

    @property
    def hook(self) -> DbApiHook:
        """The connection's SQL hook (looked up on first use)."""
        if self._hook is None:
            self._hook = sql_hook(self.conn_id)
        return self._hook

    def prepare(self) -> None:
        """Create the table when it is missing (before any record is fetched)."""
        if not self._prepared:
            self.hook.run(create_table_sql(self.table, self.hook.dialect_name))
            self._prepared = True

    def write(self, records: Iterable[Record]) -> int:
        """Upsert every record by ``id``, one transaction per batch; return the rows written.

        A failure part way leaves the batches before it committed; since rows are keyed by
        ``id``, running the task again completes the table without duplicating any row.
        """
        self.prepare()
        hook = self.hook
        adapt = cell_adapter(hook.dialect_name)
        column_types = list(COLUMN_TYPES.values())
        count = 0
        for batch in batched(records, self.batch_size):
            rows = [
                tuple(
                    adapt(value, column_type)
                    for value, column_type in zip(typed_row(record), column_types, strict=True)
                )
                for record in batch
            ]
            if hook.dialect_name == "sqlite":
                self._replace_sqlite(rows)
            else:
                hook.insert_rows(
                    self.table,
                    rows,
                    target_fields=list(COLUMNS),
                    commit_every=self.batch_size,
                    replace=True,
                    replace_index=[KEY_COLUMN],
                    executemany=True,
                )
            count += len(rows)
        return count

    def _replace_sqlite(self, rows: list[tuple[Any, ...]]) -> None:
        """``REPLACE`` one batch in one transaction, binding values with their own types.

        ``DbApiHook.insert_rows`` hands SQLite every value as text, and SQLite's text-to-REAL
        conversion is not exact: a latitude of 53.357958 came back as 53.357957999999996.
        """
        placeholders = ", ".join("?" for _ in COLUMNS)
        sql = f"REPLACE INTO {self.table} ({', '.join(COLUMNS)}) VALUES ({placeholders})"
        connection = self.hook.get_conn()
        try:
            with connection:  # commits the batch, or rolls it back on an error
                connection.executemany(sql, rows)
        finally:
            connection.close()
