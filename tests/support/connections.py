"""The one way tests build a LeadSquared connection, and the client settings that keep them quick."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_leadact.sandbox import Sandbox
from tests.support.sandbox import KEYS

#: Client-side extras that keep tests quick: a budget that never throttles, short retry waits,
#: a short timeout. Tests that exercise the budget or the retries pass their own values.
FAST: dict[str, Any] = {
    "rate_limit_calls": 10_000,
    "rate_limit_period_seconds": 1,
    "retry_wait_seconds": 0.02,
    "retry_max_wait_seconds": 0.1,
    "timeout_seconds": 5,
}

_FROM_TARGET: Any = object()


def connection_json(
    target: Sandbox | str,
    *,
    login: str | None = _FROM_TARGET,
    password: str | None = _FROM_TARGET,
    fast: bool = True,
    **extra: Any,
) -> str:
    """A LeadSquared connection as JSON (for ``AIRFLOW_CONN_<ID>``), with :data:`FAST` extras.

    :param target: a serving :class:`Sandbox` (its account URL and its keys), or a host or
        base URL (with the shared sandbox's :data:`~tests.support.sandbox.KEYS`).
    :param login: the access key; ``None`` leaves it out.
    :param password: the secret key; ``None`` leaves it out.
    :param fast: start from :data:`FAST`; ``False`` keeps the provider's defaults for every
        extra not given (for tests of the defaults themselves).
    :param extra: connection extras.
    """
    if isinstance(target, Sandbox):
        host = target.account_url
        keys = {"access_key": target.config.access_key, "secret_key": target.config.secret_key}
    else:
        host, keys = target, KEYS
    return json.dumps(
        {
            "conn_type": "leadsquared",
            "host": host,
            "login": keys["access_key"] if login is _FROM_TARGET else login,
            "password": keys["secret_key"] if password is _FROM_TARGET else password,
            "extra": {**FAST, **extra} if fast else extra,
        }
    )
