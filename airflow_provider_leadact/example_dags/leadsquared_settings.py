"""Settings shared by the example DAGs, read from environment variables at parse time (no I/O).

=============================== ====================================== ============================
Environment variable            Default                                What it is
=============================== ====================================== ============================
``LEADACT_LEADSQUARED_CONN_ID`` ``leadsquared_default``                the LeadSquared connection
``LEADACT_BASE_PATH``           ``file://$AIRFLOW_HOME/leadact/data``  where activity files go
``LEADACT_FILE_FORMAT``         ``jsonl``                              jsonl, csv or parquet
``LEADACT_SQL_CONN_ID``         ``leadact_sqlite``                     the SQL connection
``LEADACT_SQL_TABLE``           ``leadsquared_activities``             the table
``LEADACT_API_POOL``            ``leadsquared_api``                    the pool of API tasks
``LEADACT_WINDOW_HOURS``        ``6``                                  hours per mapped daily task
=============================== ====================================== ============================
"""

from __future__ import annotations

import os

AIRFLOW_HOME = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")

LEADSQUARED_CONN_ID = os.environ.get("LEADACT_LEADSQUARED_CONN_ID", "leadsquared_default")
BASE_PATH = os.environ.get("LEADACT_BASE_PATH", f"file://{AIRFLOW_HOME}/leadact/data").rstrip("/")
FILE_FORMAT = os.environ.get("LEADACT_FILE_FORMAT", "jsonl")
SQL_CONN_ID = os.environ.get("LEADACT_SQL_CONN_ID", "leadact_sqlite")
SQL_TABLE = os.environ.get("LEADACT_SQL_TABLE", "leadsquared_activities")
API_POOL = os.environ.get("LEADACT_API_POOL", "leadsquared_api")
WINDOW_HOURS = int(os.environ.get("LEADACT_WINDOW_HOURS", "6"))
