"""``python -m airflow_provider_leadact.sandbox``: run the sandbox server."""

from airflow_provider_leadact.sandbox.cli import main

raise SystemExit(main())
