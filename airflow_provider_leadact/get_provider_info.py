"""Provider registration: what ``airflow providers list`` and the connection form show."""

from __future__ import annotations

from typing import Any

from airflow_provider_leadact import __version__
from airflow_provider_leadact.extras import conn_fields

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"login": "Access Key", "password": "Secret Key", "host": "API host"},
    "placeholders": {
        "host": "api-in21.leadsquared.com (your region's API host) or http://127.0.0.1:8765 (sandbox)",
        "login": "u$r1234567890abcdef (Access Key)",
        "password": "Secret Key",
        "extra": '{"rate_limit_calls": 25, "rate_limit_period_seconds": 5, "rate_limit_backend": "memory"}',
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
        "integrations": [
            {
                "integration-name": "LeadSquared",
                "external-doc-url": "https://apidocs.leadsquared.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": "LeadSquared", "python-modules": ["airflow_provider_leadact.hooks.leadsquared"]}
        ],
        "operators": [
            {
                "integration-name": "LeadSquared",
                "python-modules": [
                    "airflow_provider_leadact.operators.activities",
                    "airflow_provider_leadact.operators.activity_types",
                    "airflow_provider_leadact.operators.deferral",
                    "airflow_provider_leadact.operators.files",
                    "airflow_provider_leadact.operators.leads",
                    "airflow_provider_leadact.operators.load",
                    "airflow_provider_leadact.operators.windows",
                ],
            }
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
