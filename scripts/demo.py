"""Run the daily example DAG end to end against the local sandbox, and show its interval contract.

``make demo`` runs this. It uses an Airflow home under ``.demo/airflow`` in the repository,
the sandbox as ``leadsquared_default`` and a SQLite file as ``leadact_sqlite``. It runs the
daily DAG for one day, then backfills an earlier day after it (as a backfill from the UI
would), and for each interval compares three things: the truth (the sandbox's activities
whose ModifiedOn lies in the interval), the partition's files and the table. Running it
again rewrites the same partitions and must print the same figures.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
#: Runs of the daily DAG, in the order they are made: a day, then an earlier day backfilled.
#: Their data intervals are the days before (2025-01-08, then 2025-01-04), inside the sandbox
#: data set's history (2025-01-01 .. 2025-01-14).
RUNS = ("2025-01-09", "2025-01-05")


def main() -> int:
    home = DEMO / "airflow"
    data = DEMO / "data"
    database = DEMO / "leadact.db"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "airflow_provider_leadact" / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "LEADACT_BASE_PATH": f"file://{data}",
        "LEADACT_WINDOW_HOURS": "6",  # four mapped fetch tasks a day
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

    timetable = CronDataIntervalTimetable("0 0 * * *", timezone="UTC")
    ok = True
    with Sandbox(latency=0.0) as sb:
        env["AIRFLOW_CONN_LEADSQUARED_DEFAULT"] = sb.connection_json()
        days = sb.history_days()
        print(f"Sandbox serving {len(sb.lead_ids())} leads at {sb.url}, activity on {days[0]} .. {days[-1]}")
        print()
        for day in RUNS:
            sb.reset_stats()
            run([*airflow, "dags", "test", "leadsquared_activities_daily", day], env, quiet=True)
            calls = sb.stats().get("calls")
            # The interval Airflow gives a run triggered for the day, from the DAG's own timetable.
            interval = timetable.infer_manual_data_interval(run_after=pendulum.parse(day, tz="UTC"))
            start, end = interval.start, interval.end
            changed = sb.truth_changed(start, end)
            truth = {a["Id"]: flatten_activity(a, a["RelatedProspectId"].lower()) for a in changed}
            leads = {r["lead_id"] for r in truth.values()}
            partition = data / "activities" / f"interval_start={start:%Y%m%dT%H%M%S}"
            files = sorted(partition.glob("part-*.jsonl"))
            written = [json.loads(line) for f in files for line in f.read_text("utf-8").splitlines() if line]
            in_files = {r["id"]: r for r in written}
            with sqlite3.connect(database) as db:
                rows = dict(db.execute("SELECT id, modified_on FROM leadsquared_activities").fetchall())
            files_ok = in_files == truth and len(written) == len(truth)
            table_ok = all(rows.get(key) == record["modified_on"] for key, record in truth.items())
            edited_later = sum(1 for a in changed if a["CreatedOn"] < f"{start:%Y-%m-%d %H:%M:%S}")
            ok = ok and files_ok and table_ok
            print(f"Interval            [{start.isoformat()}, {end.isoformat()})  (run for {day})")
            print(f"  truth             {len(truth)} activities with ModifiedOn in the interval, of {len(leads)} leads "
                  f"({edited_later} created on earlier days)")  # fmt: skip
            print(
                f"  API calls         {calls} (the listing's pages, at least one per 6-hour window; "
                "the day's first run also reads the activity types)"
            )
            print(f"  files             {len(written)} activities in {len(files)} parts of {partition.name}: "
                  f"equal to the truth: {files_ok}")  # fmt: skip
            print(f"  table             {len(rows)} rows in all; this interval's {len(truth)} present with "
                  f"their latest values: {table_ok}")  # fmt: skip
            for record in written[:2]:
                fields = {k: record[k] for k in ("lead_id", "id", "created_on", "modified_on", "event_name")}
                print("  sample           ", json.dumps(fields, ensure_ascii=False), "data:", _shorten(record["data"]))
            print()
    print("Interval contract holds for every run:", ok)
    return 0 if ok else 1


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
