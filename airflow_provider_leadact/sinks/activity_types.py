"""The activity types tables: the account's catalogue of types and custom fields, in SQL.

Two tables beside the activities table, through any Airflow SQL connection (common.sql's
``DbApiHook``), with the columns declared in
:mod:`~airflow_provider_leadact.activity_types`: one row per event code, and one per
``(event_code, schema_name)`` custom field. Every row carries ``refreshed_at``, when the
catalogue was read: the tables know when they were last refreshed without a table of their own.

A refresh replaces both tables' contents in one transaction: it upserts every row of the new
catalogue, stamped with the refresh's time, then deletes the rows of earlier refreshes (types
and fields that no longer exist). A reader sees the whole old catalogue or the whole new one,
and two refreshes that meet (two DAGs sharing the tables) cannot collide on a key: the upsert
waits for the other's commit, and the later commit's catalogue stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_leadact.activity_types import (
    FIELD_COLUMNS,
    FIELD_KEY,
    TYPE_COLUMNS,
    TYPE_KEY,
    ActivityType,
    field_rows,
    type_rows,
)
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.records import Column, ColumnType
from airflow_provider_leadact.sinks.sql import cell_adapter, create_keyed_table_sql, sql_hook, validate_table_name
from airflow_provider_leadact.times import read_api_time

if TYPE_CHECKING:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

#: Default names of the two tables.
DEFAULT_TYPES_TABLE = "leadsquared_activity_types"
DEFAULT_FIELDS_TABLE = "leadsquared_activity_type_fields"


class ActivityTypesSqlSink:
    """Writes the account's activity types and their custom fields to two tables.

    :param conn_id: the Airflow connection of the database.
    :param table: the types table, optionally ``schema.table``; created when missing.
    :param fields_table: the custom fields table; created when missing.
    :raises LeadSquaredConfigError: for a table name that is not a plain identifier, or the
        same table given twice.
    """

    def __init__(
        self, conn_id: str, table: str = DEFAULT_TYPES_TABLE, fields_table: str = DEFAULT_FIELDS_TABLE
    ) -> None:
        self.conn_id, self.table, self.fields_table = check_tables(conn_id, table, fields_table)
        self._hook: DbApiHook | None = None

    @property
    def location(self) -> str:
        """Where the catalogue goes, fit for logs and XCom."""
        return f"{self.conn_id}:{self.table},{self.fields_table}"

    @property
    def hook(self) -> DbApiHook:
        """The connection's SQL hook (looked up on first use)."""
        if self._hook is None:
            self._hook = sql_hook(self.conn_id)
        return self._hook

    def prepare(self) -> None:
        """Create both tables when they are missing."""
        dialect = self.hook.dialect_name
        tables = ((self.table, TYPE_COLUMNS, TYPE_KEY), (self.fields_table, FIELD_COLUMNS, FIELD_KEY))
        for table, columns, key in tables:
            self.hook.run(create_keyed_table_sql(table, dialect, {c.name: c.type for c in columns}, key))

    def last_refreshed(self) -> datetime | None:
        """When the catalogue was last written (naive UTC), or None if never."""
        return _as_time(self.hook.get_first(f"SELECT MAX(refreshed_at) FROM {self.table}")[0])

    def counts(self) -> tuple[int, int]:
        """How many types and custom fields the tables hold."""
        types = self.hook.get_first(f"SELECT COUNT(*) FROM {self.table}")[0]
        fields = self.hook.get_first(f"SELECT COUNT(*) FROM {self.fields_table}")[0]
        return int(types), int(fields)

    def replace(self, types: list[ActivityType], refreshed_at: datetime) -> tuple[int, int, datetime]:
        """Make the tables hold exactly this catalogue, in one transaction.

        :param types: what :meth:`LeadSquaredHook.get_activity_types` returned.
        :param refreshed_at: when it was read (naive UTC), stamped on every row; moved just
            past the previous refresh's stamp when it is not later (a clock behind, two
            refreshes within the clock's resolution), since rows are told apart by it.
        :return: the types and custom fields written, and the stamp they carry.
        """
        hook = self.hook
        adapt = cell_adapter(hook.dialect_name)
        connection = hook.get_conn()
        try:
            cursor = connection.cursor()
            cursor.execute(f"SELECT MAX(refreshed_at) FROM {self.table}")
            previous = _as_time(cursor.fetchone()[0])
            if previous is not None and refreshed_at <= previous:
                refreshed_at = previous + timedelta(microseconds=1)
            stamp = adapt(refreshed_at, ColumnType.TIMESTAMP)
            writes = (
                (self.table, TYPE_COLUMNS, TYPE_KEY, type_rows(types, refreshed_at)),
                (self.fields_table, FIELD_COLUMNS, FIELD_KEY, field_rows(types, refreshed_at)),
            )
            for table, columns, key, rows in writes:
                values = [tuple(adapt(row[c.name], c.type) for c in columns) for row in rows]
                if values:
                    cursor.executemany(self._upsert_sql(table, columns, key, values[0]), values)
                # What this refresh did not write is gone from LeadSquared.
                cursor.execute(f"DELETE FROM {table} WHERE refreshed_at <> {hook.placeholder}", (stamp,))
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()
        return len(writes[0][3]), len(writes[1][3]), refreshed_at

    def _upsert_sql(self, table: str, columns: Sequence[Column], key: Sequence[str], values: tuple[Any, ...]) -> str:
        # The connection's own dialect writes it: ON CONFLICT on PostgreSQL, REPLACE on SQLite and MySQL.
        return self.hook.dialect.generate_replace_sql(table, values, [c.name for c in columns], replace_index=list(key))


def _as_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return read_api_time(str(value))  # SQLite keeps times as text


def check_tables(conn_id: str, table: str, fields_table: str) -> tuple[str, str, str]:
    """Check the connection id and both table names (no I/O); return them.

    :raises LeadSquaredConfigError: naming what to fix.
    """
    if not conn_id or not isinstance(conn_id, str):
        raise LeadSquaredConfigError("conn_id is empty: pass the Airflow connection of the database")
    validate_table_name(table)
    validate_table_name(fields_table)
    if table.lower() == fields_table.lower():
        raise LeadSquaredConfigError(
            f"table and fields_table are both {table!r}: the types and their custom fields need two tables"
        )
    return conn_id, table, fields_table
