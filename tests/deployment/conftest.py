"""Fixtures of the deployment suite: the sandbox, PostgreSQL databases, a LocalExecutor deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.airflow_deployment import (
    FAILED_SET_UPS,
    AirflowDeployment,
    create_database,
    keep_logs,
    skip_if_set_up_failed,
)
from tests.support.deployment_scenario import Outcome, run_scenario


@pytest.fixture(scope="session")
def deployment_sandbox() -> Iterator[Any]:
    """The sandbox on a free loopback port, with its default rate limit (25 calls per 5 s)."""
    from airflow_provider_leadact.sandbox import Sandbox

    with Sandbox(latency=0.05) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def local_deployment(
    postgres_server: dict[str, Any], deployment_sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AirflowDeployment, Outcome]]:
    """A LocalExecutor deployment that has run the backfill scenario; yields it and what it saw."""
    skip_if_set_up_failed("local")
    home = tmp_path_factory.mktemp("airflow-local")
    meta = create_database(postgres_server, "airflow_local")
    sink = {**create_database(postgres_server, "leadact_local"), "sink": "leadact_local"}
    data = home / "data"
    deployment = AirflowDeployment(
        home,
        meta["url"],
        "LocalExecutor",
        {
            "LEADACT_BASE_PATH": f"file://{data}",
            "LEADACT_SQL_CONN_ID": "leadact_pg",
            "LEADACT_WINDOW_HOURS": "6",
        },
    )
    try:
        deployment.start()
        # The budget's default settings (25 calls per 5 s); processes of one machine share it
        # through the file backend, as the README advises for the LocalExecutor.
        extra = {"rate_limit_backend": f"file:{home / 'budget'}"}
        outcome = run_scenario(deployment, deployment_sandbox, data, sink, extra)
        print(outcome.line("LocalExecutor"))
        yield deployment, outcome
    except BaseException as error:
        FAILED_SET_UPS["local"] = str(error)[:300]
        keep_logs(deployment, "local")
        raise
    finally:
        deployment.stop()
