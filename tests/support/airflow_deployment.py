"""A real Airflow deployment for tests: api-server, scheduler, DAG processor and triggerer as processes.

The metadata database is PostgreSQL; every process gets the same environment, as a user's
deployment would (``AIRFLOW__*`` settings, the DAGs folder, the ``LEADACT_*`` settings of the
example DAGs). Connections and the pool are created through the REST API, as the UI does.
Everything started is stopped by :meth:`AirflowDeployment.stop`, also when start-up fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.servers import free_port

AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
REPO = Path(__file__).resolve().parents[2]
#: The deployment the README shows, as a script: the tests deploy with it, so the two agree.
DEPLOY_SCRIPT = REPO / "deploy" / "airflow.sh"
ADMIN = "admin"
#: Test artifacts (screenshots, process logs of failed runs) under the ignored build output.
ARTIFACTS = REPO / "build" / "deployment"


#: Seconds a backfill of the scenario may take before the test gives up on it.
BACKFILL_TIMEOUT = 600


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
    """An Airflow deployment on loopback, set up and started by ``deploy/airflow.sh``.

    The script is the one the README shows: the deployment is what a user pasting those
    commands gets, and the test's own settings are only those a user may add (``extra_env``).

    :param home: the ``AIRFLOW_HOME`` folder (created).
    :param database_url: SQLAlchemy URL of an empty PostgreSQL database for the metadata.
    :param executor: ``LocalExecutor`` or ``CeleryExecutor``.
    :param extra_env: more settings for every process (e.g. ``LEADACT_*``, Celery's broker).
    """

    def __init__(self, home: Path, database_url: str, executor: str, extra_env: Mapping[str, str]) -> None:
        self.home = home
        self.logs = home / "process-logs"
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            # The virtualenv's `airflow` and `leadact-sandbox`, as an activated environment has them.
            "PATH": f"{Path(AIRFLOW_BIN).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "EXECUTOR": executor,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(self.port),
            # Several mapped fetch tasks at once: the point of a real executor.
            "AIRFLOW__CORE__PARALLELISM": "8",
            # Only the runs the test asks for: no scheduled run of "yesterday" beside the backfill.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            **extra_env,
        }
        #: Workers the test started itself (Celery workers in network namespaces), by name.
        self.processes: dict[str, subprocess.Popen] = {}
        #: The script's commands run, in order: the README's commands must be among them.
        self.script_calls: list[str] = []
        self.password = ""
        self._token: str | None = None

    # -- processes ------------------------------------------------------------------------

    def script(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
        """Run ``deploy/airflow.sh ARGS`` with the deployment's environment; return its output."""
        self.script_calls.append(args[0])
        done = subprocess.run(
            [str(DEPLOY_SCRIPT), *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise DeploymentError(
                f"deploy/airflow.sh {args[0]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def start(self) -> AirflowDeployment:
        """``init`` (settings, secrets, DAGs, ``db migrate``) and ``start`` (the four processes).

        The triggerer resumes tasks that deferred at the account's daily call cap.
        """
        self.script("init", self.database_url)
        self.script("start", timeout=300)
        self.password = self.script("password").strip()
        return self

    def check_alive(self) -> None:
        """Raise if a started process has exited, naming its log."""
        pids = {path.stem: int(path.read_text()) for path in (self.home / "run").glob("*.pid")}
        for name, pid in pids.items():
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self._exited(name, "?")
        for name, process in self.processes.items():
            if process.poll() is not None:
                self._exited(name, process.returncode)

    def _exited(self, name: str, code: Any) -> None:
        tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
        raise ProcessExited(f"{name} exited with {code}; its log ends:\n{tail}")

    def stop(self) -> None:
        """``deploy/airflow.sh stop``, then the test's own workers: SIGTERM, SIGKILL after a grace period."""
        failed: BaseException | None = None
        try:
            self.script("stop", timeout=120)
        except (DeploymentError, subprocess.TimeoutExpired) as error:
            failed = error
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
            try:  # the group may hold children (task supervisors) that outlived it
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        if failed is not None:
            raise failed

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

    def backfill(self, dag_id: str, from_date: str, to_date: str, reprocess: str, max_active_runs: int) -> int:
        """``deploy/airflow.sh backfill`` then ``wait``: the backfill's id, once it completed."""
        backfill_id = self.script("backfill", dag_id, from_date, to_date, reprocess, str(max_active_runs)).strip()
        # `wait` fails when a run failed: the caller's checks say which, so its answer is kept.
        try:
            self.script("wait", backfill_id, str(BACKFILL_TIMEOUT))
        except DeploymentError as error:
            print(error)
        return int(backfill_id)

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100&order_by=logical_date")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        from urllib.parse import quote

        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances?limit=1000"
        return self.api("GET", path)["task_instances"]


def readme_commands(executor: str) -> set[str]:
    """The ``deploy/airflow.sh`` commands of the README's deployment block for ``executor``."""
    import re

    text = (REPO / "README.md").read_text("utf-8")
    marker = f"<!-- deployment: {executor};"
    assert marker in text, f"the README has no deployment block for {executor}"
    block = text.split(marker, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return set(re.findall(r"deploy/airflow\.sh ([a-z-]+)", block))


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
