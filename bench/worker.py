"""One benchmark worker process.

``worker.py fetch CONN_ID IDS_FILE OUT``: fetch the leads through the hook, write the counts.
``worker.py jsonl CONN_ID OUT_FILE``: fetch every lead of the sandbox through the hook and the
flattening function into a JSON Lines file; print activities, CPU seconds and peak memory.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def fetch(conn_id: str, ids_file: str, out: str) -> None:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    ids = json.loads(open(ids_file, encoding="utf-8").read())
    hook = LeadSquaredHook(leadsquared_conn_id=conn_id)
    started = time.monotonic()
    counts = {lead_id: len(rows) for lead_id, rows in hook.iter_leads_activities(ids)}
    result = {"counts": counts, "seconds": time.monotonic() - started, "stats": hook.stats}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def jsonl(conn_id: str, out_file: str, ids_file: str) -> None:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
    from airflow_provider_leadact.records import flatten_activity
    from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink

    ids = json.loads(open(ids_file, encoding="utf-8").read())
    hook = LeadSquaredHook(leadsquared_conn_id=conn_id)
    before = resource.getrusage(resource.RUSAGE_SELF)
    baseline_rss = peak_rss_mb()

    def records():
        for lead_id, activities in hook.iter_leads_activities(ids):
            for activity in activities:
                yield flatten_activity(activity, lead_id)

    written = ObjectStorageSink("file://" + out_file, file_format="jsonl").write(records())
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps(
            {
                "activities": written,
                "cpu_seconds": cpu,
                "peak_rss_mb": peak_rss_mb(),
                "rss_before_mb": baseline_rss,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak resident memory: VmHWM, which unlike ru_maxrss is not inherited
    from the parent across fork and exec."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"fetch": fetch, "jsonl": jsonl}[command](*args)
