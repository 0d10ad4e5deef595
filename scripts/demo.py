"""Run the daily example DAG end to end against the local sandbox, then check what it wrote.

``make demo`` runs this. It uses an Airflow home under ``.demo/airflow`` in the repository,
the sandbox as ``leadsquared_default`` and a SQLite file as ``leadact_sqlite``, and compares
the files and table rows against the sandbox's own data. Running it again overwrites the same
interval and must give the same counts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
#: The run's date: its data interval is the day before (2025-01-04), inside the sandbox data
#: set's modified_on range (2025-01-01 .. 2025-01-14).
DAY = "2025-01-05"


def main() -> int:
    home = DEMO / "airflow"
    data = DEMO / "data"
    database = DEMO / "leadact.db"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "LEADACT_BASE_PATH": f"file://{data}",
        "LEADACT_LEADS_PER_BATCH": "2",  # several mapped fetch tasks even for a small day
        "AIRFLOW_CONN_LEADACT_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(database)}),
    }
    os.environ.update(env)  # the sandbox and the checks below read the same settings
    airflow = [str(Path(sys.executable).parent / "airflow")]
    run([*airflow, "db", "migrate"], env)
    run([*airflow, "pools", "set", "leadsquared_api", "4", "LeadSquared API calls"], env)

    import pendulum
    from airflow.timetables.interval import CronDataIntervalTimetable

    from airflow_provider_leadact.records import flatten_activity
    from airflow_provider_leadact.sandbox import Sandbox

    with Sandbox(latency=0.0) as sb:
        env["AIRFLOW_CONN_LEADSQUARED_DEFAULT"] = sb.connection_json()
        print(f"Sandbox serving {len(sb.lead_ids())} leads at {sb.url}")
        run([*airflow, "dags", "test", "leadsquared_activities_daily", DAY], env, quiet=True)
        calls = sb.stats().get("calls")

    # The interval Airflow gives a run triggered for DAY, from the DAG's own timetable.
    interval = CronDataIntervalTimetable("0 0 * * *", timezone="UTC").infer_manual_data_interval(
        run_after=pendulum.parse(DAY, tz="UTC")
    )
    start, end = interval.start, interval.end
    last = end - timedelta(seconds=1)  # the sandbox's bounds are inclusive
    leads = sb.leads_modified(f"{start:%Y-%m-%d %H:%M:%S}", f"{last:%Y-%m-%d %H:%M:%S}")
    truth = {a["Id"]: flatten_activity(a, lead) for lead in leads for a in sb.truth(lead)}

    partition = data / "activities" / f"interval_start={start:%Y%m%dT%H%M%S}"
    files = sorted(partition.glob("part-*.jsonl"))
    written = [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines() if line]
    in_files = {r["id"]: r for r in written}
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT id, lead_id FROM leadsquared_activities").fetchall()
        in_interval = [r for r in rows if r[0] in truth]

    files_ok = in_files == truth and len(written) == len(truth)
    rows_ok = len(in_interval) == len(truth) and len({r[0] for r in rows}) == len(rows)
    for record in written[:3]:
        fields = {k: record[k] for k in ("lead_id", "id", "created_on", "event_name")}
        print("Fetched            ", json.dumps(fields, ensure_ascii=False), "data:", _shorten(record["data"]))
    print(f"Interval            {start.isoformat()} .. {end.isoformat()}")
    print(f"Leads modified      {len(leads)}")
    print(f"Activities (truth)  {len(truth)}")
    print(f"API calls           {calls}")
    print(f"Files               {len(files)} in {partition}")
    print(f"Activities in files {len(written)}  equal to the sandbox: {files_ok}")
    print(f"Table rows          {len(rows)} in {database} (this interval: {len(in_interval)})  "
          f"no duplicates, all present: {rows_ok}")  # fmt: skip
    return 0 if files_ok and rows_ok else 1


def _shorten(value: object, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run(command: list[str], env: dict[str, str], quiet: bool = False) -> None:
    """Run an Airflow command; on failure show its output and stop."""
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-20000:])
        sys.stderr.write(result.stderr[-20000:])
        raise SystemExit(f"failed: {' '.join(command[1:])}")
    if not quiet:
        print(f"ok: airflow {' '.join(command[1:3])}")


if __name__ == "__main__":
    raise SystemExit(main())
