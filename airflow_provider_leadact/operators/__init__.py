"""Operators: find the leads or activities changed in an interval, fetch them into object storage or SQL.

What a DAG imports comes from here:

- lead ids: :class:`LeadSquaredChangedLeadsOperator` (leads with an activity changed in an
  interval), :class:`LeadSquaredRecentlyModifiedLeadsOperator` (leads by their last change);
- per-lead fetch, optionally only the changes of a window:
  :class:`LeadSquaredActivitiesToObjectStorageOperator`, :class:`LeadSquaredActivitiesToSqlOperator`;
- straight from the date-range listing, no per-lead call:
  :class:`LeadSquaredChangedActivitiesToObjectStorageOperator`,
  :class:`LeadSquaredChangedActivitiesToSqlOperator`;
- files to a table: :class:`LeadSquaredActivityFilesToSqlOperator`;
- partitions: :class:`LeadSquaredPrunePartitionOperator`, :func:`files_asset`;
- a long range as windows, for mapping: :class:`LeadSquaredWindowsOperator`.
"""

from __future__ import annotations

from airflow_provider_leadact.operators.activities import (
    LeadSquaredActivitiesBaseOperator,
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredChangedActivitiesBaseOperator,
    LeadSquaredChangedActivitiesToObjectStorageOperator,
    LeadSquaredChangedActivitiesToSqlOperator,
    LeadSquaredToSinkOperator,
)
from airflow_provider_leadact.operators.files import LeadSquaredPrunePartitionOperator, files_asset
from airflow_provider_leadact.operators.leads import (
    LeadSquaredChangedLeadsOperator,
    LeadSquaredRecentlyModifiedLeadsOperator,
)
from airflow_provider_leadact.operators.load import LeadSquaredActivityFilesToSqlOperator
from airflow_provider_leadact.operators.windows import LeadSquaredWindowsOperator

__all__ = [
    "LeadSquaredActivitiesBaseOperator",
    "LeadSquaredActivitiesToObjectStorageOperator",
    "LeadSquaredActivitiesToSqlOperator",
    "LeadSquaredActivityFilesToSqlOperator",
    "LeadSquaredChangedActivitiesBaseOperator",
    "LeadSquaredChangedActivitiesToObjectStorageOperator",
    "LeadSquaredChangedActivitiesToSqlOperator",
    "LeadSquaredChangedLeadsOperator",
    "LeadSquaredPrunePartitionOperator",
    "LeadSquaredRecentlyModifiedLeadsOperator",
    "LeadSquaredToSinkOperator",
    "LeadSquaredWindowsOperator",
    "files_asset",
]
