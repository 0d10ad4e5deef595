"""Test-wide set-up: an isolated AIRFLOW_HOME, set before anything imports Airflow, and the
shared fixtures of :mod:`tests.support.fixtures`."""

from __future__ import annotations

import os
import tempfile

# Airflow reads its configuration at import time, so the home must exist before any test
# module (or plugin) imports it. Each pytest run gets its own home, removed by the OS tmp policy.
_HOME = tempfile.mkdtemp(prefix="leadact-airflow-home-")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker is a run of its own: the home (and its metadata database) the
    # controller chose would otherwise be shared by workers migrating and resetting it at once.
    os.environ["AIRFLOW_HOME"] = _HOME
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")
# The default rate-limit budget lives in the temporary folder and outlives a process: each
# run gets a folder of its own, so what one run's sandboxes taught a budget (a learned limit,
# a day's count) never reaches another run's sandbox that happens to get the same port.
_TMP = tempfile.mkdtemp(prefix="leadact-tests-tmp-")
# Traversable (not listable) by servers the tests run as another user (PostgreSQL), whose folders live in it.
os.chmod(_TMP, 0o711)  # noqa: S103
os.environ["TMPDIR"] = tempfile.tempdir = _TMP

pytest_plugins = ("tests.support.fixtures",)
