"""Run a DAG with ``dag.test()`` with the OpenLineage provider enabled, and read the events it emitted.

The provider reads its settings once (``airflow.providers.openlineage.conf`` caches every
option, and the listener keeps the client it built), so the run happens in a fresh process
whose environment carries the file transport from its start, rather than in the test's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = str(Path(__file__).resolve().parents[2])
# The subprocess loads the DAG the way the DAG processor would, as tests/support/killed_runs.py does.
_DAG_TEST = """
import json, sys
import pendulum
sys.path.insert(0, sys.argv[5])
from tests.support.dag_bags import bundle_dag_bag

bag = bundle_dag_bag(sys.argv[1])
date = pendulum.parse(sys.argv[3]) if sys.argv[3] else None
run = bag.get_dag(sys.argv[2]).test(logical_date=date, run_conf=json.loads(sys.argv[4]))
states = {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}
print("RUN STATE", json.dumps({"run": str(run.state), "tasks": states}))
"""


def run_with_openlineage(
    dags: Path, dag_id: str, events: Path, *, logical_date: Any = None, conf: dict[str, Any] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``dag_id`` once with OpenLineage's file transport writing to ``events`` (JSON Lines).

    :return: the run's state and its tasks' states, and the events this run added to ``events``.
    """
    before = len(read_events(events))
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "leadact-tests",
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
    }
    argv = [sys.executable, "-c", _DAG_TEST, str(dags), dag_id, logical_date.isoformat() if logical_date else ""]
    result = subprocess.run(
        [*argv, json.dumps(conf or {}), REPO], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    # The run's log, beside the events, for whoever reads a failure.
    with events.with_suffix(".log").open("a", encoding="utf-8") as log:
        log.write(result.stdout + result.stderr)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RUN STATE ")]
    assert lines, f"the run did not finish: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[-1].removeprefix("RUN STATE ")), read_events(events)[before:]


def read_events(path: Path) -> list[dict[str, Any]]:
    """The OpenLineage events of a file transport's JSON Lines file, in the order written."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def completed(events: list[dict[str, Any]], job: str) -> list[dict[str, Any]]:
    """The COMPLETE events of one job (``<dag_id>.<task_id>``), one per task instance that succeeded."""
    return [e for e in events if e.get("eventType") == "COMPLETE" and e["job"]["name"] == job]
