"""Benchmark: how full the provider keeps the account's budget, against a hand-written loop.

Run with ``make bench``. Everything runs side by side in one run against the sandbox (started
here as a separate process) with 300 ms latency and the common plan's limit of 25 calls per
5 s:

1. the provider in one task (one process, concurrent leads under one budget);
2. the same leads fetched one call at a time with a plain ``requests`` loop (the baseline);
3. the provider in three processes sharing one Redis budget;
4. fetch -> flatten -> JSON Lines file at two data sizes, without latency or limit, for CPU
   time per 100,000 activities and peak memory;
5. API calls per daily interval for the old DAG, the per-lead path and the listing path
   (:mod:`bench.intervals`);
6. a first load and the busiest day of an account large enough to matter, on each path, with
   peak memory per window size (:mod:`bench.scale`).

Utilization is the ceiling's pace divided by the pace achieved: the least time in which N
calls can be made without ever putting more than L in any window of P seconds,
``floor((N - 1) / L) * P``, over the time between the first and the last call's arrival at the
sandbox. 1.0 means the budget was kept exactly full; a burst at the start cannot inflate it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.intervals import main as calls_per_interval  # noqa: E402
from bench.servers import KEYS, conn_env, control, redis_server, sandbox  # noqa: E402

WORKER = ROOT / "bench" / "worker.py"
LIMIT, PERIOD, LATENCY = 25, 5.0, 0.3


def fresh(url: str) -> None:
    """Let the server's window empty, then zero its counters: runs must not see each other."""
    time.sleep(PERIOD + 0.5)
    control(url, "/_sandbox/stats/reset", "POST")


def summary(url: str, seconds: float) -> dict:
    stats = control(url, "/_sandbox/stats")
    span = (stats["last_call_at"] or 0) - (stats["first_call_at"] or 0)
    fastest = ((stats["accepted"] - 1) // LIMIT) * PERIOD
    steady = fastest / span if span > 0 else float("nan")
    return {
        "seconds": seconds,
        "span": span,
        "calls": stats["calls"],
        "accepted": stats["accepted"],
        "rate_limited": stats["rate_limited"],
        # Answers after the first window: the steady state, past the start-up burst.
        "rate_limited_steady": sum(1 for after in stats["rate_limited_after"] if after > PERIOD),
        "max_in_window": stats["max_in_window"],
        "utilization": steady,
    }


def run_provider(url: str, ids: list[str], work: Path, processes: int, backend: str) -> tuple[dict, dict]:
    fresh(url)
    env = conn_env(url, rate_limit_backend=backend)
    procs, outs = [], []
    started = time.monotonic()
    for n in range(processes):
        ids_file, out = work / f"ids{n}.json", work / f"out{n}.json"
        ids_file.write_text(json.dumps(ids[n::processes]))
        outs.append(out)
        procs.append(
            subprocess.Popen([sys.executable, str(WORKER), "fetch", "lsq_bench", str(ids_file), str(out)], env=env)
        )
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("a benchmark worker failed")
    seconds = time.monotonic() - started
    counts: dict = {}
    for out in outs:
        counts.update(json.loads(out.read_text())["counts"])
    return summary(url, seconds), counts


def run_baseline(url: str, ids: list[str]) -> tuple[dict, dict]:
    """What a DAG author writes by hand: one call at a time, sleeping on a 429."""
    fresh(url)
    counts = {}
    started = time.monotonic()
    for lead_id in ids:
        rows, page = [], 0
        while True:
            response = requests.post(
                url + "/v2/ProspectActivity.svc/Retrieve",
                params={"leadId": lead_id},
                headers=KEYS,
                json={"Paging": {"Offset": str(page), "RowCount": "1000"}},
                timeout=60,
            )
            if response.status_code == 429:
                time.sleep(PERIOD)
                continue
            batch = response.json()["ProspectActivities"]
            rows.extend(batch)
            if len(batch) < 1000:
                break
            page += 1
        counts[lead_id] = len(rows)
    return summary(url, time.monotonic() - started), counts


def run_jsonl(leads: int, work: Path, **env_extra: str) -> dict:
    with sandbox("--leads", str(leads), "--rate-limit-calls", "0") as url:
        # Only the ids: the parent must not load the data set (its memory is not measured, but
        # it should not compete with the worker's either).
        ids = [lead["lead_id"] for lead in control(url, "/_sandbox/leads")]
        ids_file = work / f"jsonl-ids-{leads}.json"
        ids_file.write_text(json.dumps(ids))
        # The common plan's 25 calls (so the usual 25 threads), in a window short enough that
        # the budget never throttles: this run measures the client's own CPU and memory.
        env = {
            **conn_env(url, rate_limit_calls=25, rate_limit_period_seconds=0.1, rate_limit_margin_seconds=0),
            **env_extra,
        }
        out = subprocess.run(
            [sys.executable, str(WORKER), "jsonl", "lsq_bench", str(work / f"out-{leads}.jsonl"), str(ids_file)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=300, help="leads fetched in the throughput runs")
    parser.add_argument("--sizes", default="500,2500", help="leads in the two JSON Lines runs")
    parser.add_argument(
        "--only", choices=["limits", "scale"], help="run only this section (its figures are printed, not kept)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadact-bench-"))
    if args.only == "limits":
        from bench.limits import main as limits

        limits(work)
        return 0
    if args.only == "scale":
        from bench.scale import main as scale

        scale([])
        return 0
    rows = {}
    with sandbox(
        "--leads",
        str(args.leads),
        "--latency",
        str(LATENCY),
        "--rate-limit-calls",
        str(LIMIT),
        "--rate-limit-period",
        str(PERIOD),
    ) as url:
        truth = {lead: len(acts) for lead, acts in control(url, "/_sandbox/truth").items()}
        ids = list(truth)
        rows["provider, one task"], got = run_provider(url, ids, work, 1, "memory")
        assert got == truth, "provider (one task) did not fetch the ground truth"
        rows["plain requests loop, one at a time"], got = run_baseline(url, ids)
        assert got == truth, "baseline did not fetch the ground truth"
        with redis_server() as redis_url:
            rows["provider, 3 processes, one Redis budget"], got = run_provider(url, ids, work, 3, redis_url)
        assert got == truth, "provider (3 processes) did not fetch the ground truth"
    activities = sum(truth.values())
    base = rows["plain requests loop, one at a time"]["span"]
    lines = [
        f"Workload: {len(ids)} leads, {activities} activities; sandbox latency {LATENCY * 1000:.0f} ms, "
        f"limit {LIMIT} calls / {PERIOD:g} s.",
        "",
        "| run | first to last call, s | calls accepted | rate-limit answers (after the first 5 s) "
        "| max calls in any 5 s "
        "| utilization | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['span']:.1f} | {r['accepted']} | {r['rate_limited']} ({r['rate_limited_steady']}) "
            f"| {r['max_in_window']} | "
            f"{r['utilization']:.3f} | {base / r['span']:.2f}x |"
        )
    print("\n".join(lines), flush=True)
    lines += [
        "",
        "| fetch -> flatten -> JSON Lines | activities | CPU s per 100,000 | peak RSS MB |",
        "| --- | ---: | ---: | ---: |",
    ]
    sizes = [int(s) for s in args.sizes.split(",")]
    # The last row caps glibc's per-thread malloc arenas: what remains of the growth between
    # sizes is allocator fragmentation across fetch threads, not data held.
    for leads, env_extra in [*((n, {}) for n in sizes), (sizes[-1], {"MALLOC_ARENA_MAX": "2"})]:
        r = run_jsonl(leads, work, **env_extra)
        label = f"{leads} leads" + ("".join(f", {k}={v}" for k, v in env_extra.items()))
        lines.append(
            f"| {label} | {r['activities']} | {r['cpu_seconds'] / r['activities'] * 100_000:.1f} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    print("\n".join(lines[-(3 + len(sizes)) :]))
    lines += ["", *calls_per_interval(["--leads", str(args.leads)])]
    from bench.scale import main as scale

    lines += ["", *scale([])]
    from bench.limits import main as limits

    lines += ["", limits(work)]
    text = "\n".join(lines)
    # Kept in the repository: the README's figures come from this file.
    header = (
        f"# make bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n\n"
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {platform.platform()}\n\n"
    )
    (ROOT / "bench" / "RESULTS.md").write_text(header + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
