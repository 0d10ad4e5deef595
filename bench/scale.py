"""Benchmark: a first load and a busy day on an account large enough to matter, on each path.

Run with ``python bench/scale.py`` (``make bench`` runs it too). One simulated account (by
default 11,000 leads, about 500,000 activities over 90 days, 10 % backdated and 5 % dated
ahead), served by the sandbox in a process of its own without latency or rate limit: calls
are counted, not timed, and the time each path needs at the common plan's 25 calls per 5 s
(and the days of a Pro plan's 10,000 calls a day) is computed from them. Every run is checked
against the sandbox's ground truth (the digest of ids and versions).

Paths:

- first load through the listing (the history DAG): the range's span of changes, then 14-day
  windows, each listed page by page;
- first load one call per lead (the history DAG before): ``Leads.RecentlyModified``, then each
  lead's whole history;
- the busiest day through the listing (the daily DAG, four 6-hour windows);
- the busiest day one call per changed lead (the listing's leads, each fetched in the window).

Memory: one listing task writing one JSON Lines file through the object storage sink, for
windows holding about 10,000, 100,000 and 500,000 activities; peak RSS of the task's process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.servers import conn_env, control, sandbox  # noqa: E402

WORKER = ROOT / "bench" / "scale_worker.py"
PAGE = 1000
PLAN_CALLS, PLAN_PERIOD, PRO_DAILY = 25, 5.0, 10_000


def duration(seconds: float) -> str:
    """``2 h 03 min``, ``1 min 42 s``: the time calls take at the plan's pace, for a reader."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def run(url: str, work: Path, path: str, start: datetime, end: datetime, budget: str) -> dict:
    control(url, "/_sandbox/stats/reset", "POST")
    env = conn_env(url, rate_limit_calls=10_000, rate_limit_period_seconds=1, rate_limit_backend=budget)
    env = {**env, "AIRFLOW_CONN_LSQ_SCALE": env.pop("AIRFLOW_CONN_LSQ_BENCH")}
    out = subprocess.run(
        [sys.executable, str(WORKER), path, start.isoformat(), end.isoformat(), str(work / f"{path}.jsonl")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["calls"] = control(url, "/_sandbox/stats")["calls"]
    return result


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=11_000, help="leads in the simulated account")
    parser.add_argument("--days", type=int, default=90, help="days of history")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="leadact-bench-scale-"))
    first_day = datetime(2025, 1, 1)
    lines: list[str] = []
    with sandbox("--leads", str(args.leads), "--days", str(args.days), "--rate-limit-calls", "0") as url:
        days = control(url, "/_sandbox/history/days")
        everything = (datetime(2000, 1, 1), datetime.now().replace(microsecond=0))
        query = f"from=2000-01-01T00:00:00&to={everything[1].isoformat()}&digest=1"
        truth_all = control(url, f"/_sandbox/truth/changed?{query}")
        # The busiest day: the most activities changed in one UTC day.
        sizes = {}
        for day in days:
            start = datetime.fromisoformat(day)
            query = f"from={start.isoformat()}&to={(start + timedelta(days=1)).isoformat()}&digest=1"
            sizes[day] = control(url, f"/_sandbox/truth/changed?{query}")
        busiest = max(sizes, key=lambda day: sizes[day]["activities"])
        busy = (datetime.fromisoformat(busiest), datetime.fromisoformat(busiest) + timedelta(days=1))
        runs = [
            ("first load", "listing: span of changes, 14-day windows, pages of 1,000", "history-listing", everything,
             truth_all),
            ("first load", "one call per lead: Leads.RecentlyModified, then each lead's history", "history-per-lead",
             everything, truth_all),
            (f"busiest day ({busiest})", "listing: four 6-hour windows", "day-listing", busy, sizes[busiest]),
            (f"busiest day ({busiest})", "one call per changed lead, within the window", "day-per-lead", busy,
             sizes[busiest]),
        ]  # fmt: skip
        rows = []
        for what, how, path, (start, end), truth in runs:
            # Each run starts with a budget of its own: nothing learned carries over from another path.
            budget = f"file:{work / ('budget-' + path)}"
            result = run(url, work, path, start, end, budget)
            exact = result["digest"] == truth["digest"] and result["activities"] == truth["activities"]
            pace = duration(result["calls"] * PLAN_PERIOD / PLAN_CALLS)
            rows.append(
                f"| {what} | {how} | {result['activities']:,} | {result['calls']:,} | "
                f"{result['activities'] / max(result['calls'], 1):,.0f} | {pace} | "
                f"{result['calls'] / PRO_DAILY:.2f} | {'exact' if exact else 'NOT EXACT'} | "
                f"{result['peak_rss_mb']:.0f} |"
            )
            print(rows[-1], flush=True)
        lines += [
            f"Account: {args.leads:,} leads, {truth_all['activities']:,} activities over {args.days} days from "
            f"{first_day:%Y-%m-%d} (10 % backdated, 5 % dated ahead); busiest day {busiest}: "
            f"{sizes[busiest]['activities']:,} activities of {sizes[busiest]['leads']:,} leads changed.",
            "",
            "| work | path | activities | API calls | activities per call | at 25 calls / 5 s | Pro plan days "
            "(10,000 calls) | landed | peak RSS MB |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
            *rows,
            "",
            "| one listing task, one window -> JSON Lines file | activities | API calls | peak RSS MB |",
            "| --- | ---: | ---: | ---: |",
        ]
        # Windows of growing size on the same account, from its first day.
        per_day = truth_all["activities"] / args.days
        for target in (10_000, 100_000, 500_000):
            length = timedelta(days=min(args.days, max(1, round(target / per_day))))
            result = run(url, work, "window", first_day, first_day + length, f"file:{work / 'budget-window'}")
            lines.append(
                f"| {length.days} days | {result['activities']:,} | {result['calls']:,} | {result['peak_rss_mb']:.0f} |"
            )
            print(lines[-1], flush=True)
    print("\n".join(lines), flush=True)
    return lines


if __name__ == "__main__":
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    main()
