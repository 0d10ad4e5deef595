"""A local emulation of the LeadSquared HTTP API, for demos, tests and benchmarks.

The real service cannot be reached from a test machine, and its documentation leaves
paging and rate-limit behaviour open; the sandbox serves a deterministic generated data
set under each reading (see ``SandboxConfig``) and counts what clients do to it::

    from airflow_provider_leadact.sandbox import Sandbox

    with Sandbox(offset_mode="row", rate_limit_calls=5) as sb:
        ...  # point a client at sb.url with the default keys
        assert sb.stats()["max_in_window"] <= 5
        sb.truth_changed("2025-01-03T00:00:00", "2025-01-04T00:00:00")  # an interval's truth
        sb.reset()  # the seed's data, the first settings, no faults, zero counters

From a shell: ``leadact-sandbox --port 8765`` (or ``python -m airflow_provider_leadact.sandbox``).

Where things are: ``config`` (every setting, validated), ``data`` (the generated history and
its edits), ``page_readings`` (the paging readings, free of HTTP), ``api``, ``date_range`` and
``activity_types`` (the endpoints, as pure functions of data and request), ``state`` (settings, data, counters,
limits, faults and edits: :class:`SandboxState`), ``routes`` (the tables of endpoints, control
endpoints and faults), ``server`` (HTTP: :class:`Sandbox`), ``windows`` (sliding windows of
call times), ``cli`` (``leadact-sandbox``).
"""

from __future__ import annotations

from airflow_provider_leadact.sandbox.config import SandboxConfig
from airflow_provider_leadact.sandbox.data import Dataset, Lead, generate_dataset
from airflow_provider_leadact.sandbox.page_readings import index_page_of, page_of
from airflow_provider_leadact.sandbox.server import Sandbox
from airflow_provider_leadact.sandbox.state import SandboxState

__all__ = [
    "Dataset",
    "Lead",
    "Sandbox",
    "SandboxConfig",
    "SandboxState",
    "generate_dataset",
    "index_page_of",
    "page_of",
]
