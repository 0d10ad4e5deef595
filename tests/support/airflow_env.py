"""A DAGs folder made runnable by ``dag.test()`` in tests, as the DAG processor would make it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
