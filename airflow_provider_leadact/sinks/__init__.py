"""Sinks: where flattened activity records are written (object storage files, SQL tables).

A sink knows nothing of the API: it receives an iterator of records and writes them.
"""

from __future__ import annotations

from airflow_provider_leadact.sinks.base import ActivitySink
from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink
from airflow_provider_leadact.sinks.sql import SqlSink

__all__ = ["ActivitySink", "ObjectStorageSink", "SqlSink"]
