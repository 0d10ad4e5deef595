"""One worker process of the account-limits benchmark (``bench/limits.py``).

With ``LEADACT_CODE`` set to a folder holding another copy of ``airflow_provider_leadact``
(the benchmark's "before" column), that copy is imported instead of the installed one.

``limits_worker.py fetch CONN_ID IDS_FILE OUT [START_AT]``: wait until the wall-clock time
START_AT (if given), create the hook, fetch the leads; write counts, the time from the hook's
creation to the last activity, the hook's counters, and the error if the fetch failed.

``limits_worker.py progress CONN_ID LEAD_ID OUT``: fetch one lead as the operators do, with
their progress lines; write when each line came.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time


def use_code_under_test() -> None:
    folder = os.environ.get("LEADACT_CODE")
    if folder:
        # The editable install's finder would win over sys.path: take it out for this process.
        sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__.startswith("__editable__")]
        sys.path.insert(0, folder)


def fetch(conn_id: str, ids_file: str, out: str, start_at: str | None = None) -> None:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    with open(ids_file, encoding="utf-8") as handle:
        ids = json.load(handle)
    if start_at:
        time.sleep(max(0.0, float(start_at) - time.time()))
    started = time.time()
    hook = LeadSquaredHook(leadsquared_conn_id=conn_id)
    counts: dict[str, int] = {}
    error = None
    last = started
    try:
        for lead_id, rows in hook.iter_leads_activities(ids):
            counts[lead_id] = len(rows)
            last = time.time()
    except Exception as exc:  # the "before" code may fail where the new one does not: report it
        error = f"{type(exc).__name__}: {exc}"
    result = {"counts": counts, "started": started, "finished": last, "stats": hook.stats, "error": error}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.at.append(time.time())


def progress(conn_id: str, lead_id: str, out: str) -> None:
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
    from airflow_provider_leadact.operators.progress import FetchProgress

    log = logging.getLogger("bench.progress")
    log.propagate = False
    lines = _Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    hook = LeadSquaredHook(leadsquared_conn_id=conn_id)
    tracker = FetchProgress(1, log, lambda: hook.stats)
    started = time.time()
    # What the operators pass: the page callback where this version of the code has one.
    extra = {"on_page": tracker.page_fetched} if hasattr(tracker, "page_fetched") else {}
    if hasattr(tracker, "start"):
        tracker.start()
    for _, rows in hook.iter_leads_activities([lead_id], **extra):
        tracker.lead_done(len(rows))
    finished = time.time()
    if hasattr(tracker, "close"):
        tracker.close()
    marks = [started, *lines.at, finished]
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    result = {"seconds": finished - started, "lines": len(lines.at), "longest_gap": max(gaps) if gaps else None}
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    use_code_under_test()
    command, *args = sys.argv[1:]
    {"fetch": fetch, "progress": progress}[command](*args)
