"""A real Airflow deployment for tests: api-server, scheduler, DAG processor and triggerer as processes.

The metadata database is PostgreSQL; every process gets the same environment, as a user's
deployment would (``AIRFLOW__*`` settings, the DAGs folder, the ``LEADACT_*`` settings of the
example DAGs). Connections and the pool are created through the REST API, as the UI does.
Everything started is stopped by :meth:`AirflowDeployment.stop`, also when start-up fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.airflow_env import EXAMPLE_DAGS
from tests.support.servers import free_port

AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
REPO = Path(__file__).resolve().parents[2]
ADMIN = "admin"
#: Test artifacts (screenshots, process logs of failed runs) under the ignored build output.
ARTIFACTS = REPO / "build" / "deployment"


class DeploymentError(RuntimeError):
    """A REST call failed, or a command did not succeed."""


class ProcessExited(RuntimeError):
    """A process of the deployment exited while it should be serving; the message has its log."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll ``check`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, DeploymentError) as error:
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s (last error: {last_error})")


class AirflowDeployment:
    """An Airflow deployment on loopback, started from a fresh ``AIRFLOW_HOME``.

    :param home: the ``AIRFLOW_HOME`` folder (created).
    :param database_url: SQLAlchemy URL of an empty PostgreSQL database for the metadata.
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param extra_env: more settings for every process (e.g. ``LEADACT_*``, Celery's broker).
    """

    def __init__(self, home: Path, database_url: str, executor: str, extra_env: Mapping[str, str]) -> None:
        self.home = home
        self.logs = home / "process-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.password}))
        from cryptography.fernet import Fernet

        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__EXECUTOR": executor,
            # Several mapped fetch tasks at once: the point of a real executor.
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            # Only the runs the test asks for: no scheduled run of "yesterday" beside the backfill.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **extra_env,
        }
        self.processes: dict[str, subprocess.Popen] = {}
        self._token: str | None = None

    # -- processes ------------------------------------------------------------------------

    def run(self, *args: str, timeout: float = 300) -> str:
        """Run one ``airflow`` CLI command to completion with the deployment's environment."""
        done = subprocess.run(
            [AIRFLOW_BIN, *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode:
            raise DeploymentError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def spawn(self, name: str, command: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen:
        """Start a long-running process in its own process group, logging to ``process-logs/``."""
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            command,
            env=dict(env or self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so stop() reaches the process's children too
        )
        log.close()
        self.processes[name] = process
        return process

    def start(self) -> AirflowDeployment:
        """Migrate the metadata DB, start the Airflow processes, wait for the API.

        The triggerer resumes tasks that deferred at the account's daily call cap.
        """
        self.run("db", "migrate", timeout=600)
        self.spawn("api-server", [AIRFLOW_BIN, "api-server", "--port", str(self.port), "--host", "127.0.0.1"])
        self.spawn("scheduler", [AIRFLOW_BIN, "scheduler"])
        self.spawn("dag-processor", [AIRFLOW_BIN, "dag-processor"])
        self.spawn("triggerer", [AIRFLOW_BIN, "triggerer"])
        wait_for("the API server answering", self._healthy, timeout=180)
        return self

    def _healthy(self) -> bool:
        self.check_alive()
        return requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200

    def check_alive(self) -> None:
        """Raise if a started process has exited, naming its log."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ProcessExited(f"{name} exited with {process.returncode}; its log ends:\n{tail}")

    def stop(self) -> None:
        """Stop every started process: SIGTERM to its group, SIGKILL after a grace period."""
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:  # the group may hold children (task supervisors, workers) that outlived it
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()

    # -- REST -----------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT for the admin user, as the UI's sign-in form gets it."""
        if self._token is None:
            answer = requests.post(
                f"{self.url}/auth/token", json={"username": ADMIN, "password": self.password}, timeout=30
            )
            if answer.status_code not in (200, 201):
                raise DeploymentError(f"sign-in failed: HTTP {answer.status_code} {answer.text[:300]}")
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        """Call the REST API (``/api/v2`` + ``path``) as the admin user; return the JSON answer."""
        answer = requests.request(
            method,
            f"{self.url}/api/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
        )
        if answer.status_code not in expect:
            raise DeploymentError(f"{method} {path}: HTTP {answer.status_code} {answer.text[:1000]}")
        return answer.json() if answer.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 240) -> dict:
        """Wait until the DAG processor has parsed and serialized ``dag_id``."""

        def parsed() -> dict | None:
            self.check_alive()
            errors = self.api("GET", "/importErrors")
            if errors["total_entries"]:
                raise AssertionError(f"DAG import errors: {errors['import_errors']}")
            answer = requests.get(
                f"{self.url}/api/v2/dags/{dag_id}/details",
                headers={"Authorization": f"Bearer {self.token()}"},
                timeout=30,
            )
            return answer.json() if answer.status_code == 200 else None

        return wait_for(f"DAG {dag_id} parsed", parsed, timeout=timeout, interval=2)

    def backfill(self, dag_id: str, from_date: str, to_date: str, reprocess: str, max_active_runs: int) -> dict:
        """Create a backfill as the UI's backfill dialog does."""
        return self.api(
            "POST",
            "/backfills",
            {
                "dag_id": dag_id,
                "from_date": from_date,
                "to_date": to_date,
                "max_active_runs": max_active_runs,
                "reprocess_behavior": reprocess,
                "run_backwards": False,
                "dag_run_conf": {},
            },
        )

    def wait_for_backfill(self, backfill_id: int, timeout: float) -> dict:
        """Wait (bounded) until the backfill is marked complete; return it."""

        def complete() -> dict | None:
            self.check_alive()
            backfill = self.api("GET", f"/backfills/{backfill_id}")
            return backfill if backfill.get("completed_at") else None

        return wait_for(f"backfill {backfill_id} complete", complete, timeout=timeout, interval=3)

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        from urllib.parse import quote

        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000"
        return self.api("GET", path)["task_instances"]


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


#: Deployments whose set-up failed, by name: a module-scoped fixture that raised is set up
#: again for each of the module's tests, and one failed deployment (minutes) is enough.
FAILED_SET_UPS: dict[str, str] = {}


def skip_if_set_up_failed(name: str) -> None:
    """Fail at once when the deployment ``name`` already failed to set up in this session."""
    if name in FAILED_SET_UPS:
        pytest.fail(f"the {name} deployment failed to set up (see the first error): {FAILED_SET_UPS[name]}")
