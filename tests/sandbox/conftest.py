"""Fixtures for the sandbox tests: one served sandbox, reset before each test, and a client.

Generating the default data set takes a noticeable fraction of a second, so the tests share
one running sandbox and put its data, settings, counters, queued faults and rate-limit memory
back (``Sandbox.reset()``) before each test instead of starting a new one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_leadact.sandbox import Sandbox, SandboxConfig
from tests.sandbox.client import Client

# The limit is off by default in these tests: only the rate-limit tests switch it on.
BASE_CONFIG = SandboxConfig(rate_limit_calls=0)


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[Sandbox]:
    with Sandbox(BASE_CONFIG) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    shared_sandbox.reset()
    return shared_sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[Client]:
    client = Client(sandbox)
    yield client
    client.session.close()


@pytest.fixture
def leads_by_size(sandbox: Sandbox) -> dict[str, str]:
    """A few lead ids of useful sizes from the default data set."""
    leads = sorted(sandbox.dataset.leads, key=lambda lead: len(lead.activities))
    return {
        "empty": leads[0].lead_id,
        "small": next(lead.lead_id for lead in leads if 5 <= len(lead.activities) <= 20),
        "medium": next(lead.lead_id for lead in leads if 100 <= len(lead.activities) <= 400),
        "largest": leads[-1].lead_id,
        "large": leads[-2].lead_id,
    }
