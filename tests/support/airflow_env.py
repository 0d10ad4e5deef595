"""A DAGs folder made runnable by ``dag.test()`` in tests, as the DAG processor would make it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The provider's example DAGs, as the package ships them.
EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "airflow_provider_leadact" / "example_dags"


@contextmanager
def example_dags_env(root: Path, sandbox_connection: str, window_hours: int) -> Iterator[dict[str, Any]]:
    """The example DAGs made runnable by ``dag.test()`` against the sandbox, writing under ``root``.

    Files go to ``root/data``, the table to the SQLite file ``root/leadact.db``; the
    ``leadsquared_api`` pool exists. Yields ``{"bag", "root", "db"}``.

    :param sandbox_connection: the LeadSquared connection's JSON.
    :param window_hours: hours per mapped task of the daily DAG.
    """
    import json

    env = {
        "LEADACT_BASE_PATH": f"file://{root / 'data'}",
        "LEADACT_WINDOW_HOURS": str(window_hours),
        "AIRFLOW_CONN_LEADACT_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(root / "leadact.db")}),
        "AIRFLOW_CONN_LEADSQUARED_DEFAULT": sandbox_connection,
    }
    with synced_dags_folder(EXAMPLE_DAGS, env) as bag:
        from airflow.models.pool import Pool

        Pool.create_or_update_pool("leadsquared_api", slots=4, description="LeadSquared API", include_deferred=False)
        yield {"bag": bag, "root": root, "db": root / "leadact.db"}


@contextmanager
def synced_dags_folder(folder: Path, env: dict[str, str]) -> Iterator[Any]:
    """Set ``env``, migrate the metadata DB and sync ``folder`` to it; yield the DagBag.

    Since Airflow 3.1 ``dag.test()`` runs only DAGs serialized in the metadata DB under a
    bundle, so the folder is bagged and written as the ``dags-folder`` bundle. The environment
    and the DAGs folder setting are restored afterwards.
    """
    env = {**env, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    from airflow import settings

    dags_folder, settings.DAGS_FOLDER = settings.DAGS_FOLDER, str(folder)
    try:
        subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True, capture_output=True)
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        from tests.support.dag_bags import bundle_dag_bag, sync_dag_bag

        # The example DAGs read their settings when first imported: read them from env afresh.
        for name in [m for m in sys.modules if m.startswith("airflow_provider_leadact.example_dags.")]:
            del sys.modules[name]
        DagBundlesManager().sync_bundles_to_db()
        bag = bundle_dag_bag(folder)
        sync_dag_bag(bag)
        yield bag
    finally:
        settings.DAGS_FOLDER = dags_folder
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
