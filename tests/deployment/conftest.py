"""Fixtures of the deployment suite: the sandbox, PostgreSQL databases, a LocalExecutor deployment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.airflow_deployment import AirflowDeployment
from tests.deployment.scenario import Outcome, run_scenario

#: Test artifacts (screenshots, process logs of failed runs) under the ignored build output.
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "deployment"


def create_database(pg: dict[str, Any], name: str) -> dict[str, Any]:
    """Create an empty database on the throwaway server; return ``pg`` with ``sink`` and ``url``."""
    import psycopg2

    db = psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], dbname="postgres")
    try:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
            cursor.execute(f"CREATE DATABASE {name}")
    finally:
        db.close()
    return {**pg, "url": f"postgresql+psycopg2://{pg['user']}@{pg['host']}:{pg['port']}/{name}"}


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
            "LEADACT_LEADS_PER_BATCH": "5",
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
    except BaseException:
        keep_logs(deployment, "local")
        raise
    finally:
        deployment.stop()


def keep_logs(deployment: AirflowDeployment, name: str) -> None:
    """Copy the deployment's process and task logs to the artifacts folder."""
    import shutil

    target = ARTIFACTS / f"logs-{name}"
    shutil.rmtree(target, ignore_errors=True)
    for folder in ("process-logs", "logs"):
        source = deployment.home / folder
        if source.exists():
            shutil.copytree(source, target / folder, dirs_exist_ok=True)
    print(f"deployment logs kept in {target}")


def require_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root")
