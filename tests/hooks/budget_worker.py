"""A separate OS process fetching leads through the hook: ``budget_worker.py CONN_ID OUT IDS...``.

With ``LEADACT_CLOCK_SKEW`` set, this process's wall clock is shifted by that many seconds,
as on a worker whose clock is off.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    skew = float(os.environ.get("LEADACT_CLOCK_SKEW", "0"))
    if skew:
        real_time = time.time
        time.time = lambda: real_time() + skew  # type: ignore[assignment]
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    conn_id, out, *ids = sys.argv[1:]
    hook = LeadSquaredHook(leadsquared_conn_id=conn_id)
    result = dict(hook.iter_leads_activities(ids))
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"activities": result, "stats": hook.stats}, handle)


if __name__ == "__main__":
    main()
