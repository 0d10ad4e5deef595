"""One budget for the whole account: several OS processes, one sandbox, a file or Redis budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.connections import connection_json

WORKER = Path(__file__).with_name("budget_worker.py")
LIMIT, PERIOD = 6, 1.0


def run_workers(sandbox, tmp_path, backend: str, skews=(0, 0, 0)):
    ids = [i for i in sandbox.lead_ids() if len(sandbox.truth(i)) <= 1000][:18]
    conn = connection_json(
        sandbox,
        rate_limit_calls=LIMIT,
        rate_limit_period_seconds=PERIOD,
        rate_limit_backend=backend,
        retry_wait_seconds=0.05,
    )
    env = {**os.environ, "AIRFLOW_CONN_LSQ_SHARED": conn, "PYTHONPATH": str(WORKER.parents[2])}
    procs, outs = [], []
    for n, skew in enumerate(skews):
        out = tmp_path / f"worker{n}.json"
        outs.append(out)
        chunk = ids[n :: len(skews)]
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), "lsq_shared", str(out), *chunk],
                env={**env, "LEADACT_CLOCK_SKEW": str(skew)},
            )
        )
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    fetched = {}
    for out in outs:
        fetched.update(json.loads(out.read_text())["activities"])
    return ids, fetched


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_processes_share_one_budget(make_sandbox, tmp_path, redis_url, backend):
    sandbox = make_sandbox(rate_limit_calls=LIMIT, rate_limit_period=PERIOD, latency=0.02)
    url = f"file:{tmp_path}" if backend == "file" else redis_url
    ids, fetched = run_workers(sandbox, tmp_path, url)
    assert fetched == {i: sandbox.truth(i) for i in ids}
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0, stats
    assert stats["max_in_window"] <= LIMIT


def test_redis_budget_ignores_worker_clock_skew(make_sandbox, tmp_path, redis_url):
    # Workers whose clocks disagree by seconds still share one window: Redis's clock decides.
    sandbox = make_sandbox(rate_limit_calls=LIMIT, rate_limit_period=PERIOD, latency=0.02)
    ids, fetched = run_workers(sandbox, tmp_path, redis_url, skews=(-3.0, 0.0, 4.0))
    assert fetched == {i: sandbox.truth(i) for i in ids}
    stats = sandbox.stats()
    assert stats["rate_limited"] == 0, stats
    assert stats["max_in_window"] <= LIMIT
