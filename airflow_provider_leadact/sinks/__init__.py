"""Sinks: where flattened activity records are written (object storage files, SQL tables),
and where the account's activity types are kept (:class:`ActivityTypesSqlSink`).

A sink knows nothing of the API: it receives an iterator of records (or the catalogue the
hook read) and writes them.
"""

from __future__ import annotations

from airflow_provider_leadact.sinks.activity_types import ActivityTypesSqlSink
from airflow_provider_leadact.sinks.base import ActivitySink
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink
from airflow_provider_leadact.sinks.sql import SqlSink

__all__ = ["ActivitySink", "ActivityTypesSqlSink", "ObjectStorageSink", "SqlSink"]
