"""What a user does with a fresh deployment, and the checks against the sandbox's ground truth.

1. Create the pool and the connections through the REST API and test the LeadSquared one
   through ``POST /api/v2/connections/test``, with the README's ``deploy/airflow.sh`` commands.
2. Backfill the daily DAG over three intervals (``deploy/airflow.sh backfill``, a
   ``POST /api/v2/backfills``) and wait for it (``deploy/airflow.sh wait``).
3. Check every partition and the table against ``/_sandbox/truth/changed`` of each interval,
   no duplicates, the API's rate limit never exceeded, and fetch tasks that ran side by side.
4. Backfill again with reprocessing: the same files (the same lines in each) and identical rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

from tests.support.airflow_deployment import AirflowDeployment

DAG_ID = "leadsquared_activities_daily"
POOL = "leadsquared_api"
SQL_CONN_ID = "leadact_pg"
TABLE = "leadsquared_activities"
#: The three intervals backfilled (their starts; the sandbox's history begins 2025-01-01).
INTERVAL_STARTS = [datetime(2025, 1, 4, tzinfo=timezone.utc) + timedelta(days=n) for n in range(3)]


@dataclass
class Outcome:
    """What one scenario saw, for the report and for later checks (the browser's)."""

    timings: dict[str, float] = field(default_factory=dict)
    activities: int = 0
    calls: int = 0
    max_in_window: int = 0
    fetch_overlap: int = 0
    fetch_tasks: int = 0
    connection_test: str = ""

    def line(self, label: str) -> str:
        times = ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items())
        return (
            f"{label}: {self.activities} activities in 3 intervals, exact and idempotent; "
            f"{self.fetch_tasks} fetch tasks, up to {self.fetch_overlap} at once; "
            f"{self.calls} API calls, at most {self.max_in_window} in any window, 0 rate-limit answers; {times}"
        )


def set_up(deployment: AirflowDeployment, sandbox: Any, pg: dict[str, Any], extra: dict[str, Any]) -> str:
    """The README's steps: pool, connections (the LeadSquared one tested), the DAG unpaused.

    Returns the connection test's message.
    """
    deployment.script("pool", POOL, "4")
    connection = json.loads(sandbox.connection_json())
    answer = deployment.script(
        "leadsquared-connection",
        "leadsquared_default",
        env={
            "LEADSQUARED_HOST": connection["host"],
            "LEADSQUARED_ACCESS_KEY": connection["login"],
            "LEADSQUARED_SECRET_KEY": connection["password"],
            "LEADSQUARED_EXTRA": json.dumps(extra),
        },
    )
    # The script prints the creation's status only (its answer echoes the login), then the test.
    assert connection["login"] not in answer and connection["password"] not in answer, answer
    tested = json.loads(answer.splitlines()[-1])
    assert tested["status"] is True, tested
    deployment.script(
        "sql-connection",
        SQL_CONN_ID,
        env={"SQL_CONN_URI": f"postgres://{pg['user']}@{pg['host']}:{pg['port']}/{pg['sink']}"},
    )
    deployment.wait_for_dag(DAG_ID)
    deployment.script("unpause", DAG_ID)
    return tested["message"]


def run_backfill(deployment: AirflowDeployment, reprocess: str) -> float:
    """Backfill the three intervals and wait until done; return the seconds it took."""
    start = time.monotonic()
    backfill_id = deployment.backfill(
        DAG_ID,
        INTERVAL_STARTS[0].isoformat(),
        INTERVAL_STARTS[-1].isoformat(),
        reprocess=reprocess,
        max_active_runs=3,
    )
    runs = [r for r in deployment.dag_runs(DAG_ID) if r.get("run_type") == "backfill"]
    mine = [r for r in runs if str(r.get("backfill_id", backfill_id)) == str(backfill_id)]
    starts = sorted(datetime.fromisoformat(r["data_interval_start"].replace("Z", "+00:00")) for r in mine)
    assert starts == INTERVAL_STARTS, f"backfill ran intervals {starts}"
    failed = [(r["dag_run_id"], r["state"]) for r in mine if r["state"] != "success"]
    assert not failed, f"runs not successful: {failed}; logs under {deployment.home}"
    # What `status` shows a user: the backfill complete, each interval's run and its state.
    status = deployment.script("status", str(backfill_id)).splitlines()
    assert "completed at" in status[0], status
    assert sorted(status[1:]) == sorted(f"  {r['data_interval_start']}  success" for r in mine), status
    return time.monotonic() - start


def truth_changed(sandbox: Any, start: datetime) -> dict[str, dict[str, Any]]:
    """The sandbox's activities whose ModifiedOn lies in ``[start, start + 1 day)``, by Id."""
    end = start + timedelta(days=1)
    answer = requests.get(
        f"{sandbox.url}/_sandbox/truth/changed",
        params={"from": f"{start:%Y-%m-%dT%H:%M:%S}", "to": f"{end:%Y-%m-%dT%H:%M:%S}"},
        timeout=30,
    )
    answer.raise_for_status()
    body = answer.json()
    activities = body if isinstance(body, list) else body.get("activities") or body.get("ProspectActivities")
    return {a["Id"]: a for a in activities}


def partition(data: Path, start: datetime) -> Path:
    return data / "activities" / f"interval_start={start:%Y%m%dT%H%M%S}"


def partition_rows(data: Path, start: datetime) -> list[dict[str, Any]]:
    folder = partition(data, start)
    files = sorted(p for p in folder.glob("part-*") if p.is_file())
    return [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines() if line.strip()]


def table_rows(pg: dict[str, Any]) -> list[tuple]:
    import psycopg2

    with psycopg2.connect(host=pg["host"], port=pg["port"], user=pg["user"], dbname=pg["sink"]) as db:
        with db.cursor() as cursor:
            cursor.execute(f"SELECT id, lead_id, modified_on, data::text FROM {TABLE} ORDER BY id")
            return cursor.fetchall()


def same_instant(value: Any, expected: str) -> bool:
    """A written ``modified_on`` (text or timestamp) equals the API's ``YYYY-MM-DD HH:MM:SS``."""
    want = datetime.strptime(expected, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value == want


def check_against_truth(sandbox: Any, data: Path, pg: dict[str, Any]) -> int:
    """Every partition and the table hold exactly the truth, once each; return the count."""
    everything: dict[str, dict[str, Any]] = {}
    for start in INTERVAL_STARTS:
        truth = truth_changed(sandbox, start)
        assert truth, f"the sandbox has no activity modified on {start:%Y-%m-%d}: the check would prove nothing"
        rows = partition_rows(data, start)
        ids = [r["id"] for r in rows]
        assert len(ids) == len(set(ids)), f"{start:%Y-%m-%d}: duplicated activities in the partition"
        assert set(ids) == set(truth), (
            f"{start:%Y-%m-%d}: {len(set(truth) - set(ids))} missing, {len(set(ids) - set(truth))} unexpected"
        )
        for row in rows:
            assert same_instant(row["modified_on"], truth[row["id"]]["ModifiedOn"]), row["id"]
        everything.update(truth)
    table = table_rows(pg)
    table_ids = [row[0] for row in table]
    assert len(table_ids) == len(set(table_ids))
    assert set(table_ids) == set(everything)
    for activity_id, _lead, modified_on, _data in table:
        assert same_instant(modified_on, everything[activity_id]["ModifiedOn"]), activity_id
    return len(everything)


def snapshot(data: Path, pg: dict[str, Any]) -> dict[str, Any]:
    """Every file's lines (by relative path) and every row: what a rerun must leave unchanged.

    A file is compared line by line, each line byte for byte, in any order: a fetch task
    writes each lead's activities as the lead completes, and several leads are fetched at
    once, so the order of leads within a file may differ from one run to the next.
    """
    files = {}
    for start in INTERVAL_STARTS:
        for path in sorted(partition(data, start).glob("*")):
            if path.is_file():
                lines = sorted(path.read_bytes().splitlines())
                files[str(path.relative_to(data))] = (len(lines), hashlib.sha256(b"\n".join(lines)).hexdigest())
    return {"files": files, "rows": table_rows(pg)}


def changed(before: dict[Any, Any], after: dict[Any, Any]) -> list[str]:
    """The keys whose values differ between two snapshots (at most 5), for a failure message."""
    keys = sorted(set(before) | set(after), key=str)
    return [
        f"{k}: {str(before.get(k))[:200]} -> {str(after.get(k))[:200]}" for k in keys if before.get(k) != after.get(k)
    ][:5]


def fetch_overlap(deployment: AirflowDeployment) -> tuple[int, int]:
    """(fetch tasks, most fetch tasks running at one instant) over the DAG's backfill runs."""
    spans = []
    for run in deployment.dag_runs(DAG_ID):
        for ti in deployment.task_instances(DAG_ID, run["dag_run_id"]):
            if ti["task_id"] == "fetch_activities" and ti.get("start_date") and ti.get("end_date"):
                spans.append((ti["start_date"], ti["end_date"]))
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    most = running = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return len(spans), most


def run_scenario(
    deployment: AirflowDeployment, sandbox: Any, data: Path, pg: dict[str, Any], extra: dict[str, Any]
) -> Outcome:
    """Steps 1-4 of the module docstring, with their timings."""
    outcome = Outcome()
    started = time.monotonic()
    outcome.connection_test = set_up(deployment, sandbox, pg, extra)
    outcome.timings["set-up"] = time.monotonic() - started
    sandbox.reset_stats()
    outcome.timings["backfill"] = run_backfill(deployment, reprocess="none")
    outcome.activities = check_against_truth(sandbox, data, pg)
    first = snapshot(data, pg)
    outcome.timings["reprocessing backfill"] = run_backfill(deployment, reprocess="completed")
    assert check_against_truth(sandbox, data, pg) == outcome.activities
    second = snapshot(data, pg)
    assert second["files"] == first["files"], f"files changed: {changed(first['files'], second['files'])}"
    assert second["rows"] == first["rows"], (
        f"rows changed: {changed(dict(enumerate(first['rows'])), dict(enumerate(second['rows'])))}"
    )
    stats = sandbox.stats()
    limit = sandbox.config.rate_limit_calls
    assert stats["rate_limited"] == 0, f"{stats['rate_limited']} rate-limit answers"
    assert stats["max_in_window"] <= limit, stats["max_in_window"]
    outcome.calls, outcome.max_in_window = stats["calls"], stats["max_in_window"]
    outcome.fetch_tasks, outcome.fetch_overlap = fetch_overlap(deployment)
    assert outcome.fetch_overlap >= 2, "the mapped fetch tasks never ran side by side"
    return outcome
