"""Names whose home moved between the supported Airflow releases (3.1, 3.2, 3.3).

Import these from here rather than from Airflow, so one module knows which release keeps
what where:

- ``BaseHook``, ``TriggerRule``, ``mask_secret``: ``airflow.sdk`` (``airflow.sdk.log``) on
  every supported release.
- ``CronDataIntervalTimetable``: ``airflow.sdk`` from 3.2, ``airflow.timetables.interval`` in 3.1.
  This is the class DAG files pass as ``schedule``; code that computes intervals itself
  (``infer_manual_data_interval``) needs the scheduler's class, ``airflow.timetables.interval``
  on every release.
- ``BundleDagBag`` and ``sync_bag_to_db`` (behind :func:`bundle_dag_bag` and
  :func:`sync_dag_bag`, used to make a DAGs folder runnable by ``dag.test()``):
  ``airflow.dag_processing.dagbag`` from 3.2, ``airflow.models.dagbag`` in 3.1, where the bag
  takes no bundle name.

Nothing here does I/O; importing it is as cheap as importing ``airflow.sdk``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow.sdk import BaseHook, TriggerRule

try:
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 3.1
    # The types are checked against the newest line, whose class of this name is another one;
    # 3.1's is what DAG files pass as schedule there (the same constructor).
    from airflow.timetables.interval import CronDataIntervalTimetable  # type: ignore[assignment]

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # releases that keep it with the execution-time masker only
    # Redefines the name for the type checker only: at run time one of the two imports happens.
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

__all__ = [
    "AIRFLOW_VERSION",
    "BaseHook",
    "CronDataIntervalTimetable",
    "TriggerRule",
    "bundle_dag_bag",
    "mask_secret",
    "sync_dag_bag",
]


def _release(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


#: (major, minor) of the running Airflow, for the few behaviours that differ by release.
AIRFLOW_VERSION: tuple[int, int] = _release(__import__("airflow").__version__)

#: The bundle name Airflow gives the configured DAGs folder.
DAGS_FOLDER_BUNDLE = "dags-folder"


def bundle_dag_bag(folder: str | Path, bundle_name: str = DAGS_FOLDER_BUNDLE) -> Any:
    """Parse the DAG files of ``folder`` as the DAG processor does for a bundle.

    :param folder: the bundle's folder (the DAGs folder for the ``dags-folder`` bundle).
    :param bundle_name: the bundle the DAGs belong to (3.2 and later record it on the bag).
    :return: a ``BundleDagBag`` (``DagBag`` subclass) holding the parsed DAGs and import errors.
    """
    try:
        from airflow.dag_processing.dagbag import BundleDagBag
    except ImportError:  # Airflow 3.1: no bundle name on the bag
        # Redefines the name for the type checker only: at run time one of the two imports happens.
        from airflow.models.dagbag import BundleDagBag  # type: ignore[no-redef]

        return BundleDagBag(dag_folder=str(folder), bundle_path=Path(folder))
    return BundleDagBag(dag_folder=str(folder), bundle_path=Path(folder), bundle_name=bundle_name)


def sync_dag_bag(bag: Any, bundle_name: str = DAGS_FOLDER_BUNDLE, bundle_version: str | None = None) -> None:
    """Write a bag's DAGs to the metadata database, as the DAG processor would.

    Since 3.1 ``dag.test()`` only runs DAGs serialized in the database under a bundle.

    :param bag: a bag from :func:`bundle_dag_bag`.
    :param bundle_name: the bundle the DAGs belong to.
    :param bundle_version: the bundle's version (``None`` for the unversioned DAGs folder).
    """
    try:
        from airflow.dag_processing.dagbag import sync_bag_to_db
    except ImportError:  # Airflow 3.1
        # Redefines the name for the type checker only: at run time one of the two imports happens.
        from airflow.models.dagbag import sync_bag_to_db  # type: ignore[no-redef]
    sync_bag_to_db(bag, bundle_name, bundle_version)
