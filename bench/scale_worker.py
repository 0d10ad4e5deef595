"""One measured run of :mod:`bench.scale`, in a process of its own (its peak memory is the run's).

``python bench/scale_worker.py PATH FROM TO OUT``, the connection in ``AIRFLOW_CONN_LSQ_SCALE``:

- ``history-listing``: plan ``[FROM, TO)`` as windows (``LeadSquaredWindowsOperator``'s way:
  the span of changes, 14-day windows), then list each window as the history DAG's mapped
  tasks do, a hook per window (what one window learns reaches the next through the shared
  budget), streaming every activity into a JSON Lines file;
- ``history-per-lead``: every lead by ``Leads.RecentlyModified``, then each lead's history;
- ``day-listing``: ``[FROM, TO)`` listed in 6-hour windows, as the daily DAG does;
- ``day-per-lead``: the changed leads from the listing, then each lead within the window;
- ``window``: ``[FROM, TO)`` as one listing task into a JSON Lines file through the
  object storage sink (the memory run).

Prints one JSON line: activities, their digest (as the sandbox's ``truth/changed?digest=1``
computes it), peak RSS in MB.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONN_ID = "lsq_scale"

from bench.worker import peak_rss_mb  # noqa: E402


def main(path: str, start: str, end: str, out: str) -> dict[str, Any]:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
    from airflow_provider_leadact.operators.mapping import windows
    from airflow_provider_leadact.records import flatten_activity
    from airflow_provider_leadact.sandbox.date_range import DigestBuilder
    from airflow_provider_leadact.validation import Window

    whole = Window.of(start, end)
    digest = DigestBuilder()  # streamed: the run's memory is the pipeline's, not the check's

    def keep(pairs: Any, handle: Any) -> None:
        for lead, activity in pairs:
            handle.write(json.dumps(flatten_activity(activity, lead), ensure_ascii=False) + "\n")
            digest.add({**activity, "RelatedProspectId": lead})

    def hook() -> LeadSquaredHook:
        return LeadSquaredHook(leadsquared_conn_id=CONN_ID)

    with open(out, "w", encoding="utf-8") as handle:
        if path == "history-listing":
            span = hook().change_span(whole.start, whole.end)
            for window in windows(span, timedelta(days=14)) if span else []:
                task = hook()
                keep(task.iter_changed_activities(window.start, window.end), handle)
                task.close()
        elif path == "history-per-lead":
            task = hook()
            leads = task.get_recently_modified_lead_ids(whole.start, whole.end)
            keep(((lead, a) for lead, acts in task.iter_leads_activities(leads) for a in acts), handle)
        elif path == "day-listing":
            for window in whole.chunks(timedelta(hours=6)):
                task = hook()
                keep(task.iter_changed_activities(window.start, window.end), handle)
                task.close()
        elif path == "day-per-lead":
            task = hook()
            floors = task.get_changed_lead_ids(whole.start, whole.end)
            pairs = task.iter_leads_activities(list(floors), window=whole, floors=floors)
            keep(((lead, a) for lead, acts in pairs for a in acts), handle)
        elif path == "window":
            from airflow_provider_leadact.sinks.object_storage import ObjectStorageSink

            task = hook()
            sink = ObjectStorageSink(f"file://{out}", file_format="jsonl")
            sink.prepare()
            listed = task.iter_changed_activities(whole.start, whole.end)

            def records() -> Any:
                for lead, activity in listed:
                    digest.add({**activity, "RelatedProspectId": lead})
                    yield flatten_activity(activity, lead)

            sink.write(records())
        else:
            raise SystemExit(f"unknown path {path!r}")
    # Both paths are compared with the same truth: every activity changed in the range.
    summary = digest.summary()
    summary["peak_rss_mb"] = peak_rss_mb()
    return summary


if __name__ == "__main__":
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    print(json.dumps(main(*sys.argv[1:5])), flush=True)
