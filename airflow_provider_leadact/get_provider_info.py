"""Provider registration: what ``airflow providers list`` and the connection form show."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_leadact import __version__
from airflow_provider_leadact.extras import EXTRA_BY_NAME, conn_fields

#: What the form's Extra field suggests: the plan's limit (the setting most accounts change) and
#: who shares the budget, at its declared default, so the example never disagrees with the code.
EXTRA_PLACEHOLDER = json.dumps(
    {"rate_limit_calls": 25, "rate_limit_backend": EXTRA_BY_NAME["rate_limit_backend"].default}
)

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"login": "Access Key", "password": "Secret Key", "host": "API host"},
    "placeholders": {
        "host": "api-in21.leadsquared.com (your region's API host) or http://127.0.0.1:8765 (sandbox)",
        "login": "u$r1234567890abcdef (Access Key)",
        "password": "Secret Key",
        "extra": EXTRA_PLACEHOLDER,
    },
}

#: Optional settings stored in the connection's extra (JSON schema per field), from the one
#: declaration of the extras.
CONN_FIELDS: dict[str, dict[str, Any]] = conn_fields()


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata for Airflow's providers manager."""
    return {
        "package-name": "airflow-provider-leadact",
        "name": "LeadSquared",
        "description": "Extract LeadSquared lead activities into object storage and SQL databases.",
        "versions": [__version__],
        # Every integration a hook, operator or transfer names is declared here (Airflow's
        # provider-info schema; tests/test_get_provider_info.py checks both).
        "integrations": [
            {
                "integration-name": "LeadSquared",
                "external-doc-url": "https://apidocs.leadsquared.com/",
                "tags": ["service"],
            },
            {"integration-name": "Object Storage", "tags": ["software"]},
            {"integration-name": "SQL Databases", "tags": ["software"]},
        ],
        "hooks": [
            {"integration-name": "LeadSquared", "python-modules": ["airflow_provider_leadact.hooks.leadsquared"]}
        ],
        # Operators that move no activities: where lead ids and windows come from, partition upkeep.
        "operators": [
            {
                "integration-name": "LeadSquared",
                "python-modules": [
                    "airflow_provider_leadact.operators.deferral",
                    "airflow_provider_leadact.operators.files",
                    "airflow_provider_leadact.operators.leads",
                    "airflow_provider_leadact.operators.windows",
                ],
            }
        ],
        # Operators that move activities from one system to another.
        "transfers": [
            {
                "source-integration-name": "LeadSquared",
                "target-integration-name": "Object Storage",
                "python-module": "airflow_provider_leadact.operators.activities",
            },
            {
                "source-integration-name": "LeadSquared",
                "target-integration-name": "SQL Databases",
                "python-module": "airflow_provider_leadact.operators.activities",
            },
            {
                "source-integration-name": "LeadSquared",
                "target-integration-name": "SQL Databases",
                "python-module": "airflow_provider_leadact.operators.activity_types",
            },
            {
                "source-integration-name": "Object Storage",
                "target-integration-name": "SQL Databases",
                "python-module": "airflow_provider_leadact.operators.load",
            },
        ],
        "connection-types": [
            {
                "connection-type": "leadsquared",
                "hook-class-name": "airflow_provider_leadact.hooks.leadsquared.LeadSquaredHook",
                "hook-name": "LeadSquared",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
