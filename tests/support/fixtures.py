"""The fixtures every suite may use; ``tests/conftest.py`` registers this module as a plugin.

One sandbox serves the whole session (generating its data takes a noticeable fraction of a
second); every fixture that hands it out calls ``Sandbox.reset()`` first, so each test starts
from the seed's data, the shared settings, no queued faults and zero counters. Tests that need
other data or settings at start-up get their own from ``make_sandbox``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.sandbox import Sandbox
from tests.support import servers
from tests.support.connections import connection_json
from tests.support.sandbox import SHARED_SANDBOX, Client
from tests.support.sandbox import leads_by_size as pick_leads_by_size
from tests.support.truth import flattened_truth

# -- the client's shared state ------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_client_budgets() -> None:
    """Forget every budget the client keeps (its window, learned limit, facts about the server).

    The shared sandbox changes its readings from test to test on one port; a real account's
    server does not, so the client keeps what it learned about it for days.
    """
    import glob
    import os

    from airflow_provider_leadact import rate_limit

    with rate_limit._BUDGETS_LOCK:
        rate_limit._BUDGETS.clear()
    for path in glob.glob(os.path.join(rate_limit.default_folder(), "leadact-budget-*.json")):
        os.remove(path)


# -- the sandbox --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[Sandbox]:
    with Sandbox(**SHARED_SANDBOX) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def _keyed_sandbox_session(_shared_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox as it is (not reset), for module-scoped fixtures that only read it."""
    return _shared_sandbox


@pytest.fixture
def sandbox(_shared_sandbox: Sandbox) -> Sandbox:
    """The shared sandbox (60 leads, no rate limit), reset."""
    _shared_sandbox.reset()
    return _shared_sandbox


@pytest.fixture
def keyed_sandbox(_shared_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The shared sandbox, reset before and after the test (its keys are the distinctive ``KEYS``)."""
    _shared_sandbox.reset()
    yield _shared_sandbox
    _shared_sandbox.reset()


@pytest.fixture
def activity_sandbox(_shared_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The shared sandbox, reset, and set as the ``leadsquared_default`` connection."""
    _shared_sandbox.reset()
    monkeypatch.setenv("AIRFLOW_CONN_LEADSQUARED_DEFAULT", connection_json(_shared_sandbox))
    return _shared_sandbox


@pytest.fixture(scope="session")
def activity_sandbox_connection(_shared_sandbox: Sandbox) -> str:
    """The shared sandbox's Airflow connection as JSON (for ``AIRFLOW_CONN_LEADSQUARED_DEFAULT``)."""
    return connection_json(_shared_sandbox)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """``make_sandbox(**settings)``: start a sandbox of its own (no rate limit unless given); all
    are stopped after the test."""
    started: list[Sandbox] = []

    def make(**settings: Any) -> Sandbox:
        settings.setdefault("rate_limit_calls", 0)
        sandbox = Sandbox(**settings).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    """A raw API client of the (reset) shared sandbox."""
    api_client = Client(sandbox)
    yield api_client
    api_client.session.close()


@pytest.fixture
def leads_by_size(sandbox: Sandbox) -> dict[str, str]:
    """Lead ids of useful sizes from the shared sandbox (see :func:`tests.support.sandbox.leads_by_size`)."""
    return pick_leads_by_size(sandbox)


@pytest.fixture
def truth_records(_shared_sandbox: Sandbox) -> Callable[..., dict[str, dict[str, Any]]]:
    """Ground truth: ``(lead_ids, activity_event=None) -> {activity id: flattened record}``."""

    def truth(lead_ids: list[str], activity_event: int | None = None) -> dict[str, dict[str, Any]]:
        return flattened_truth(_shared_sandbox, lead_ids, activity_event)

    return truth


# -- connections and hooks --------------------------------------------------------------

_conn_numbers = count()


@pytest.fixture
def set_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``set_connection(conn_id, host, login=..., password=..., **extra)``: define a LeadSquared
    connection (see :func:`tests.support.connections.connection_json`); returns ``conn_id``."""

    def define(conn_id: str, host: Sandbox | str, **fields: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(host, **fields))
        return conn_id

    return define


@pytest.fixture
def make_hook(set_connection: Callable[..., str]) -> Callable[..., Any]:
    """``make_hook(sandbox, login=None, password=None, host=None, **extra)``: a hook on a new
    connection to ``sandbox``; a ``None`` key or host keeps the sandbox's own."""
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    def make(
        sandbox: Sandbox, *, login: str | None = None, password: str | None = None, host: str | None = None, **extra
    ) -> LeadSquaredHook:
        conn_id = set_connection(
            f"lsq_test_{next(_conn_numbers)}",
            sandbox.account_url if host is None else host,
            login=sandbox.config.access_key if login is None else login,
            password=sandbox.config.secret_key if password is None else password,
            **extra,
        )
        return LeadSquaredHook(leadsquared_conn_id=conn_id)

    return make


# -- databases and servers ----------------------------------------------------------------


@pytest.fixture
def sqlite_conn_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Airflow SQLite connection (``leadact_test_sqlite``) to an empty database file."""
    # The JSON form: the URI form of a SQLite path is easy to get wrong by one slash.
    connection = {"conn_type": "sqlite", "host": str(tmp_path / "leadact.db")}
    monkeypatch.setenv("AIRFLOW_CONN_LEADACT_TEST_SQLITE", json.dumps(connection))
    return "leadact_test_sqlite"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, Any]]:
    """A throwaway PostgreSQL server for the session: ``{"host", "port", "user", "database"}``.

    Skipped when no server binaries are installed.
    """
    try:
        with servers.postgres_server() as server:
            yield server
    except FileNotFoundError as error:
        pytest.skip(str(error))


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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway Redis server for the session: its ``redis://`` URL. Skipped without redis-server."""
    try:
        with servers.redis_server() as url:
            yield url
    except FileNotFoundError as error:
        pytest.skip(str(error))
