"""Run a DAG with ``dag.test()`` in a subprocess and SIGKILL it at a chosen moment."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = str(Path(__file__).resolve().parents[2])
# The subprocess loads the DAG the way the DAG processor would, so the kill hits a real run.
_DAG_TEST = """
import json, sys
from pathlib import Path
import pendulum
sys.path.insert(0, sys.argv[5])
from tests.support.dag_bags import bundle_dag_bag

bag = bundle_dag_bag(Path(sys.argv[1]))
run = bag.get_dag(sys.argv[2]).test(logical_date=pendulum.parse(sys.argv[3]), run_conf=json.loads(sys.argv[4]))
print("RUN STATE", run.state)
"""


def run_dag_test_and_kill(
    dags: Path,
    dag_id: str,
    logical_date: Any,
    ready: Callable[[], bool],
    log: Path,
    *,
    conf: dict[str, Any] | None = None,
    timeout: float = 120,
) -> int:
    """Start ``dag.test()`` of ``dag_id`` and SIGKILL it as soon as ``ready()``; return its exit code.

    Fails when the run ends, or ``timeout`` seconds pass, before ``ready()``; the run's output
    is kept in ``log``.
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _DAG_TEST,
                str(dags),
                dag_id,
                logical_date.isoformat(),
                json.dumps(conf or {}),
                REPO,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                assert process.poll() is None, f"the run ended before it could be killed: {log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, "the run never reached the point to kill it"
                time.sleep(0.01)
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
    return process.returncode
