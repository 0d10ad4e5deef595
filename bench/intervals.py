"""Benchmark: API calls per daily interval, for three ways of landing what changed in it.

Run with ``python bench/intervals.py`` (``make bench`` runs it after the throughput runs).
Against the sandbox (in this process, no latency, no rate limit: only calls are counted), for
every day of its history, on the same data:

1. **the old DAG**: leads modified in the interval by ``Leads.RecentlyModified`` (a lead's
   *last* change), then each lead's whole history;
2. **the per-lead path** (today's daily DAG): the date-range listing finds the leads with an
   activity changed in the interval, then each lead is fetched within the window, stopping
   once the rest of its history cannot hold a change;
3. **the listing path**: the date-range listing alone, written directly.

Each run is checked against the sandbox's ground truth of the interval (``truth_changed``):
*exact* means the activities landed are exactly those whose ``ModifiedOn`` lies in the
interval, with the same values.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONN_ID = "lsq_intervals"


def landed(pairs: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    from airflow_provider_leadact.records import flatten_activity

    return {activity["Id"]: flatten_activity(activity, lead) for lead, activity in pairs}


def old_dag(hook: Any, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    leads = hook.get_recently_modified_lead_ids(start, end)
    if not leads:
        return {}
    return landed((lead, a) for lead, acts in hook.iter_leads_activities(leads) for a in acts)


def per_lead(hook: Any, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    from airflow_provider_leadact.validation import Window

    floors = hook.get_changed_lead_ids(start, end)
    if not floors:
        return {}
    window = Window.of(start, end)
    return landed(
        (lead, a) for lead, acts in hook.iter_leads_activities(list(floors), window=window, floors=floors) for a in acts
    )


def listing(hook: Any, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    return landed(hook.iter_changed_activities(start, end))


PATHS: dict[str, Callable[[Any, datetime, datetime], dict[str, dict[str, Any]]]] = {
    "old DAG: Leads.RecentlyModified + whole histories": old_dag,
    "per-lead path: listing + windowed per-lead fetch": per_lead,
    "listing path: listing only": listing,
}


def measure(leads: int, **readings: Any) -> list[str]:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
    from airflow_provider_leadact.records import flatten_activity
    from airflow_provider_leadact.sandbox import Sandbox

    rows = []
    with Sandbox(leads=leads, latency=0.0, rate_limit_calls=0, **readings) as sb:
        connection = json.loads(sb.connection_json())
        connection["extra"] = {"rate_limit_calls": 10_000}
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(connection)
        days = [datetime.fromisoformat(day) for day in sb.history_days()]
        changed = [len(sb.truth_changed(day, day + timedelta(days=1))) for day in days]
        leads_changed = [
            len({a["RelatedProspectId"] for a in sb.truth_changed(day, day + timedelta(days=1))}) for day in days
        ]
        for name, path in PATHS.items():
            calls, exact, covered, outside = [], 0, 0, 0
            for day in days:
                end = day + timedelta(days=1)
                truth = {
                    a["Id"]: flatten_activity(a, a["RelatedProspectId"].lower()) for a in sb.truth_changed(day, end)
                }
                hook = LeadSquaredHook(leadsquared_conn_id=CONN_ID)  # a task per interval: nothing learned carries over
                sb.reset_stats()
                got = path(hook, day, end)
                calls.append(sb.stats()["calls"])
                hook.close()
                exact += got == truth
                covered += sum(1 for key in truth if got.get(key) == truth[key])
                outside += sum(1 for key in got if key not in truth)
            rows.append(
                f"| {name} | {statistics.mean(calls):.1f} | {max(calls)} | {sum(calls) / sum(leads_changed):.2f} "
                f"| {exact} of {len(days)} | {covered} of {sum(changed)} | {outside} |"
            )
    return [
        f"Calls per daily interval: {leads} leads, {len(days)} days of history, "
        f"{statistics.mean(changed):.0f} activities of {statistics.mean(leads_changed):.0f} leads changed a day "
        "on average" + (f"; listing readings {readings}" if readings else "") + ".",
        "",
        "| path | calls per interval (mean) | max | calls per changed lead | intervals exact "
        "| changed activities landed | activities outside the interval written |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ]


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=300, help="leads in the sandbox's data set")
    args = parser.parse_args(argv)
    lines = measure(args.leads)
    lines += ["", *measure(args.leads, range_include_fields="partial", range_max_page_size=500)]
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    main()
