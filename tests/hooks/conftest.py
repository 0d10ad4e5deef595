"""Fixtures for hook tests: a real sandbox on loopback and connections pointing at it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.sandbox import Sandbox

#: Client-side settings that keep tests quick: a generous budget and short retry waits.
FAST = {
    "rate_limit_calls": 1000,
    "rate_limit_period_seconds": 1,
    "retry_wait_seconds": 0.05,
    "retry_max_wait_seconds": 0.2,
    "timeout_seconds": 5,
}


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with the given settings; all are stopped after the test."""
    started: list[Sandbox] = []

    def make(**config) -> Sandbox:
        config.setdefault("rate_limit_calls", 0)
        sandbox = Sandbox(**config).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox) -> Sandbox:
    """A sandbox with the default data set and no rate limit."""
    return make_sandbox()


_counter = iter(range(1_000_000))


@pytest.fixture
def make_hook(monkeypatch) -> Callable[..., LeadSquaredHook]:
    """Create a connection (through AIRFLOW_CONN_*) to a sandbox and a hook on it."""

    def make(
        sandbox: Sandbox, *, login: str | None = None, password: str | None = None, host: str | None = None, **extra
    ) -> LeadSquaredHook:
        conn_id = f"lsq_test_{next(_counter)}"
        conn = json.loads(sandbox.connection_json())
        if login is not None:
            conn["login"] = login
        if password is not None:
            conn["password"] = password
        if host is not None:
            conn["host"] = host
        conn["extra"] = {**FAST, **extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return LeadSquaredHook(leadsquared_conn_id=conn_id)

    return make
