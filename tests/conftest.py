"""Test-wide set-up: an isolated AIRFLOW_HOME, set before anything imports Airflow."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Airflow reads its configuration at import time, so the home must exist before any test
# module (or plugin) imports it. Each pytest run gets its own home, removed by the OS tmp policy.
_HOME = tempfile.mkdtemp(prefix="leadact-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")


# --- Fixtures of the operator, sink and example DAG suites ---------------------------------


def leadsquared_connection_json(sandbox: Any, **extra: Any) -> str:
    """The sandbox's connection as JSON, with a budget large enough not to slow the tests.

    The sandbox's own rate limit is off in these suites; the hook's budget (25 calls per 5 s
    by default) would otherwise make every run of 5,000 activities take ten seconds.
    """
    connection = json.loads(sandbox.connection_json())
    connection["extra"] = {**(connection.get("extra") or {}), "rate_limit_calls": 10_000, **extra}
    return json.dumps(connection)


@pytest.fixture(scope="session")
def _activity_sandbox_session() -> Iterator[Any]:
    from airflow_provider_leadact.sandbox import Sandbox

    with Sandbox(latency=0.0, rate_limit_calls=0) as sb:
        yield sb


@pytest.fixture(scope="session")
def activity_sandbox_connection(_activity_sandbox_session: Any) -> str:
    """The sandbox's Airflow connection as JSON (for ``AIRFLOW_CONN_LEADSQUARED_DEFAULT``)."""
    return leadsquared_connection_json(_activity_sandbox_session)


@pytest.fixture
def activity_sandbox(_activity_sandbox_session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox with default data, its stats reset, set as ``leadsquared_default``."""
    sb = _activity_sandbox_session
    sb.clear_faults()
    sb.reset_stats()
    monkeypatch.setenv("AIRFLOW_CONN_LEADSQUARED_DEFAULT", leadsquared_connection_json(sb))
    return sb


@pytest.fixture
def truth_records(_activity_sandbox_session: Any) -> Callable[..., dict[str, dict[str, Any]]]:
    """Ground truth: ``(lead_ids, activity_event=None) -> {activity id: flattened record}``."""
    from airflow_provider_leadact.records import flatten_activity

    def truth(lead_ids: list[str], activity_event: int | None = None) -> dict[str, dict[str, Any]]:
        records: dict[str, dict[str, Any]] = {}
        for lead_id in lead_ids:
            for activity in _activity_sandbox_session.truth(lead_id, activity_event):
                records[activity["Id"]] = flatten_activity(activity, lead_id)
        return records

    return truth


@pytest.fixture
def sqlite_conn_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow SQLite connection (``leadact_test_sqlite``) to an empty database file."""
    # The JSON form: the URI form of a SQLite path is easy to get wrong by one slash.
    connection = {"conn_type": "sqlite", "host": str(tmp_path / "leadact.db")}
    monkeypatch.setenv("AIRFLOW_CONN_LEADACT_TEST_SQLITE", json.dumps(connection))
    return "leadact_test_sqlite"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres_user(*command: str) -> list[str]:
    # initdb and postgres refuse to run as root; run them as an unprivileged user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "nobody", "--", *command]
    return list(command)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, Any]]:
    """A throwaway PostgreSQL server from the binaries under /usr/lib/postgresql/<version>/bin.

    Yields ``{"host", "port", "user", "database"}``; skipped when no server binaries exist.
    """
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: [int(x) for x in Path(p).parent.parent.name.split(".") if x.isdigit()],
    )
    if not candidates:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    bin_dir = Path(candidates[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="leadact-pg-"))
    data, sockets = root / "data", root / "sock"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "nobody")
        shutil.chown(data, "nobody")
        shutil.chown(sockets, "nobody")
        root.chmod(0o755)
    subprocess.run(
        _as_postgres_user(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        _as_postgres_user(
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(sockets),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start on port {port}")
            time.sleep(0.2)
        yield {"host": "127.0.0.1", "port": port, "user": "postgres", "database": "postgres"}
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_conn_id(postgres_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow PostgreSQL connection (``leadact_test_postgres``) to the throwaway server."""
    pg = postgres_server
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEADACT_TEST_POSTGRES",
        f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{pg['database']}",
    )
    return "leadact_test_postgres"


@pytest.fixture
def table_name() -> str:
    """A table name no other test uses (the PostgreSQL server is shared by the session)."""
    return f"activities_{uuid.uuid4().hex[:12]}"
