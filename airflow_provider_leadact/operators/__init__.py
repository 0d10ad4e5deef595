"""Operators: fetch lead activities into object storage or SQL, and find the leads to fetch."""

from __future__ import annotations

from airflow_provider_leadact.operators.activities import (
    LeadSquaredActivitiesBaseOperator,
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
)
from airflow_provider_leadact.operators.leads import LeadSquaredRecentlyModifiedLeadsOperator
from airflow_provider_leadact.operators.load import LeadSquaredActivityFilesToSqlOperator

__all__ = [
    "LeadSquaredActivitiesBaseOperator",
    "LeadSquaredActivitiesToObjectStorageOperator",
    "LeadSquaredActivitiesToSqlOperator",
    "LeadSquaredActivityFilesToSqlOperator",
    "LeadSquaredRecentlyModifiedLeadsOperator",
]
