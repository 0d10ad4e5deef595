"""Beyond one machine: the CeleryExecutor, a Redis broker and two workers on separate "hosts".

The scheduler, API server and DAG processor run on this machine; each Celery worker runs in a
network namespace the test creates (see :mod:`tests.support.netns`) and removes. The
workers share the provider's budget through Redis (``rate_limit_backend: redis://...``), so
the account's limit holds across hosts: no rate-limit answer, and the data exact.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.airflow_deployment import (
    DEPLOY_SCRIPT,
    FAILED_SET_UPS,
    AirflowDeployment,
    create_database,
    keep_logs,
    readme_commands,
    require_root,
    skip_if_set_up_failed,
    wait_for,
)
from tests.support.deployment_scenario import DAG_ID, Outcome, run_scenario
from tests.support.netns import NamespaceHost
from tests.support.servers import redis_server

pytestmark = pytest.mark.deployment

WORKERS = ("leadact-worker-1", "leadact-worker-2")


@pytest.fixture(scope="module")
def celery_deployment(
    postgres_server: dict[str, Any], deployment_sandbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AirflowDeployment, Outcome]]:
    require_root("network namespaces")
    skip_if_set_up_failed("celery")
    home = tmp_path_factory.mktemp("airflow-celery")
    meta = create_database(postgres_server, "airflow_celery")
    sink = {**create_database(postgres_server, "leadact_celery"), "sink": "leadact_celery"}
    data = home / "data"
    hosts: list[NamespaceHost] = []
    deployment: AirflowDeployment | None = None
    with redis_server() as redis_url:
        base = redis_url.rsplit("/", 1)[0]
        try:
            deployment = AirflowDeployment(
                home,
                meta["url"],
                "CeleryExecutor",
                {
                    "AIRFLOW__CELERY__BROKER_URL": f"{base}/1",
                    "AIRFLOW__CELERY__RESULT_BACKEND": f"{base}/2",
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
                    "LEADACT_BASE_PATH": f"file://{data}",
                    "LEADACT_SQL_CONN_ID": "leadact_pg",
                    "LEADACT_WINDOW_HOURS": "6",
                },
            ).start()
            sandbox_port = int(deployment_sandbox.url.rsplit(":", 1)[1])
            redis_port = int(base.rsplit(":", 1)[1])
            for index, name in enumerate(WORKERS, start=1):
                # The workers reach the API server (execution API), Redis (broker and budget), the sandbox
                # and the sink database (the metadata database on the same server is theirs only through
                # the API server).
                host = NamespaceHost(index, [deployment.port, redis_port, sandbox_port, postgres_server["port"]])
                hosts.append(host)
                host.start()
                # What the README runs on each worker machine: `deploy/airflow.sh worker`.
                worker = [str(DEPLOY_SCRIPT), "worker", "--concurrency", "2", "--celery-hostname", f"{name}@{name}"]
                deployment.script_calls.append("worker")
                process = host.spawn(worker, deployment.env, deployment.logs / f"{name}.log", hostname=name)
                deployment.processes[name] = process
            wait_for("both Celery workers ready", lambda: workers_ready(deployment), timeout=180, interval=2)
            # Calls cross a network here (two relays each way on a shared 2-core machine), so the
            # margin covers more jitter than the default's 0.1 s, as the README advises.
            extra = {"rate_limit_backend": f"{base}/0", "rate_limit_margin_seconds": 0.5}
            outcome = run_scenario(deployment, deployment_sandbox, data, sink, extra)
            print(outcome.line("CeleryExecutor, 2 workers in network namespaces"))
            yield deployment, outcome
        except BaseException as error:
            FAILED_SET_UPS["celery"] = str(error)[:300]
            if deployment is not None:
                keep_logs(deployment, "celery")
            raise
        finally:
            started = time.monotonic()
            for host in hosts:
                host.stop()
            if deployment is not None:
                deployment.stop()
            print(f"celery deployment stopped in {time.monotonic() - started:.0f} s")
            left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            assert not [h.name for h in hosts if h.name in left], f"namespaces left behind: {left}"


def workers_ready(deployment: AirflowDeployment) -> bool:
    deployment.check_alive()
    return all("ready." in (deployment.logs / f"{name}.log").read_text(errors="replace") for name in WORKERS)


def test_backfill_across_two_celery_hosts_is_exact_and_within_the_budget(celery_deployment, deployment_sandbox):
    deployment, outcome = celery_deployment
    assert outcome.activities > 0
    # Every task ran on one of the two worker hosts, and both took part.
    hosts = set()
    for run in deployment.dag_runs(DAG_ID):
        for ti in deployment.task_instances(DAG_ID, run["dag_run_id"]):
            if ti["state"] == "success":
                hosts.add(ti["hostname"])
    assert hosts == set(WORKERS), hosts


def test_the_readme_celery_deployment_is_the_one_run(celery_deployment) -> None:
    deployment, _ = celery_deployment
    shown = readme_commands("CeleryExecutor")
    assert shown <= set(deployment.script_calls), shown - set(deployment.script_calls)
