"""Parsing a DAGs folder as the DAG processor does, on every supported Airflow line, for tests.

``BundleDagBag`` and ``sync_bag_to_db`` live in ``airflow.dag_processing.dagbag`` from 3.2 and in
``airflow.models.dagbag`` in 3.1, where the bag takes no bundle name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        from airflow.models.dagbag import BundleDagBag

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
        from airflow.models.dagbag import sync_bag_to_db
    sync_bag_to_db(bag, bundle_name, bundle_version)
