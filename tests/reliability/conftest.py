"""Fixtures of the reliability suites: a sandbox with distinctive keys, connections, ground truth."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_leadact.records import flatten_activity
from airflow_provider_leadact.sandbox import Sandbox

#: Keys of the sandbox these suites use: long and distinctive, so that finding one anywhere
#: (a log, a file, a row) can only mean it leaked.
KEYS = {"access_key": "LSQ-ACCESS-rel-7f3c9e21b4d8a6e0", "secret_key": "LSQ-SECRET-rel-2e9b7d41c8f3a05d"}
#: Keys a user might mistype into a connection: they must not leak either.
WRONG_KEYS = {"access_key": "LSQ-WRONG-ACCESS-91c0d2e7f4a8b3", "secret_key": "LSQ-WRONG-SECRET-5d8e2f1a7c9b46"}
ALL_KEYS = (*KEYS.values(), *WRONG_KEYS.values())

#: Client settings that keep the suites quick: a budget that never throttles, short retry waits.
FAST = {
    "rate_limit_calls": 10_000,
    "rate_limit_period_seconds": 1,
    "retry_wait_seconds": 0.02,
    "retry_max_wait_seconds": 0.1,
    "timeout_seconds": 5,
}
#: What the sandbox is reset to between tests.
QUIET = {
    "rate_limit_calls": 0,
    "latency": 0.0,
    "fault_500": 0.0,
    "fault_503": 0.0,
    "fault_drop": 0.0,
    "fault_slow": 0.0,
    "fault_truncated": 0.0,
}


def connection_json(
    host: str, *, login: str | None = KEYS["access_key"], password: str | None = KEYS["secret_key"], **extra: Any
) -> str:
    """A LeadSquared connection as JSON (for ``AIRFLOW_CONN_<ID>``)."""
    return json.dumps(
        {"conn_type": "leadsquared", "host": host, "login": login, "password": password, "extra": {**FAST, **extra}}
    )


def flattened_truth(sandbox: Sandbox, lead_ids: list[str], activity_event: int | None = None) -> dict[str, dict]:
    """The sandbox's ground truth as the records every sink should hold: ``{activity id: record}``."""
    records: dict[str, dict] = {}
    for lead_id in lead_ids:
        for activity in sandbox.truth(lead_id, activity_event):
            assert activity["Id"] not in records
            records[activity["Id"]] = flatten_activity(activity, lead_id)
    return records


@pytest.fixture(scope="session")
def _keyed_sandbox_session() -> Iterator[Sandbox]:
    with Sandbox(latency=0.0, rate_limit_calls=0, **KEYS) as sandbox:
        yield sandbox


@pytest.fixture
def keyed_sandbox(_keyed_sandbox_session: Sandbox) -> Iterator[Sandbox]:
    """The sandbox (60 leads) with the distinctive keys, quiet and with fresh counters."""
    sandbox = _keyed_sandbox_session
    sandbox.configure(**QUIET)
    sandbox.clear_faults()
    sandbox.reset_stats()
    yield sandbox
    sandbox.configure(**QUIET)
    sandbox.clear_faults()


@pytest.fixture
def set_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """``set_connection(conn_id, host, login=..., password=..., **extra)``: define a LeadSquared connection."""

    def define(conn_id: str, host: str, **fields: Any) -> str:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(host, **fields))
        return conn_id

    return define
