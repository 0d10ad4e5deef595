"""Names whose home moved between the supported Airflow releases (3.1, 3.2, 3.3).

Import these from here rather than from Airflow, so one module knows which release keeps
what where:

- ``BaseHook``, ``TriggerRule``, ``mask_secret``: ``airflow.sdk`` (``airflow.sdk.log``) on
  every supported release.
- ``CronDataIntervalTimetable``: ``airflow.sdk`` from 3.2, ``airflow.timetables.interval`` in 3.1.
  This is the class DAG files pass as ``schedule``; code that computes intervals itself
  (``infer_manual_data_interval``) needs the scheduler's class, ``airflow.timetables.interval``
  on every release.

Nothing here does I/O; importing it is as cheap as importing ``airflow.sdk``.
"""

from __future__ import annotations

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
    "mask_secret",
]


def _release(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


#: (major, minor) of the running Airflow, for the few behaviours that differ by release.
AIRFLOW_VERSION: tuple[int, int] = _release(__import__("airflow").__version__)
