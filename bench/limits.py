"""Benchmark of the account's limits: each figure now, beside the code before this work.

Run by ``make bench`` (``bench/run.py``), or alone: ``.venv/bin/python bench/run.py --only limits``.
The "before" column runs the provider as it was at :data:`BEFORE` (a copy taken with
``git archive``), the "now" column the working tree; both against the same sandbox settings,
a fresh sandbox per run, with 300 ms latency. Every run that completes is checked against
the sandbox's ground truth. A fresh temporary folder per run stands for a machine whose
budget has never been used (the default ``file`` budget lives there).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.servers import ROOT, conn_env, control, redis_server, sandbox

#: The provider before the account-limits work (main when it began).
BEFORE = "fa5da9d"
WORKER = ROOT / "bench" / "limits_worker.py"
LATENCY = 0.3
#: Seconds between starting the workers and the instant they all create their hooks
#: (their imports take a few seconds on a busy machine).
START_DELAY = 8.0


def before_code(work: Path) -> Path | None:
    """Extract the provider as it was at :data:`BEFORE`; None when git cannot (no history)."""
    folder = work / "before"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE, "airflow_provider_leadact"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return folder


def run(
    url: str,
    ids: list[str],
    work: Path,
    *,
    code: Path | None,
    processes: int = 1,
    timeout: float = 300.0,
    **extra: Any,
) -> dict[str, Any]:
    """Fetch ``ids`` in ``processes`` worker processes that create their hooks at one instant."""
    run_dir = Path(tempfile.mkdtemp(dir=work, prefix="run-"))
    env = {**conn_env(url, **extra), "TMPDIR": str(run_dir)}
    if code is not None:
        env["LEADACT_CODE"] = str(code)
    start_at = time.time() + START_DELAY
    procs, outs = [], []
    for n in range(processes):
        ids_file, out = run_dir / f"ids{n}.json", run_dir / f"out{n}.json"
        ids_file.write_text(json.dumps(ids[n::processes]))
        outs.append(out)
        command = [sys.executable, str(WORKER), "fetch", "lsq_bench", str(ids_file), str(out), str(start_at)]
        procs.append(subprocess.Popen(command, env=env, start_new_session=True))
    timed_out = False
    for proc in procs:
        try:
            proc.wait(timeout=max(1.0, start_at + timeout - time.time()))
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    results = [json.loads(out.read_text()) for out in outs if out.exists()]
    counts: dict[str, int] = {}
    for result in results:
        counts.update(result["counts"])
    errors = [r["error"] for r in results if r["error"]]
    return {
        "counts": counts,
        "seconds": max((r["finished"] for r in results), default=start_at) - start_at,
        "error": f"still running after {timeout:.0f} s (stopped)" if timed_out else (errors[0] if errors else None),
        "sandbox": control(url, "/_sandbox/stats"),
    }


def utilization(stats: dict[str, Any], limit: int, period: float) -> float:
    """The plan's fastest pace over the pace achieved (1.0 = the plan's ceiling)."""
    span = (stats["last_call_at"] or 0) - (stats["first_call_at"] or 0)
    fastest = ((stats["accepted"] - 1) // limit) * period
    return fastest / span if span > 0 else float("nan")


def ideal_seconds(calls: int, limit: int, period: float) -> float:
    """An ideal client that knows the plan: ``limit`` calls at once every ``period``."""
    return ((calls - 1) // limit) * period + LATENCY


def outcome(result: dict[str, Any], truth: dict[str, int]) -> str:
    if result["error"]:
        return "failed: " + result["error"][:150]
    return "exact" if result["counts"] == truth else "WRONG DATA"


def _serve(*args: str):
    return sandbox("--latency", str(LATENCY), *args)


def _truth(url: str, ids: list[str] | None = None) -> dict[str, int]:
    truth = {lead: len(acts) for lead, acts in control(url, "/_sandbox/truth").items()}
    return truth if ids is None else {i: truth[i] for i in ids}


def learned_limit(code: Path | None, work: Path, leads: int, limit: int, style: str) -> dict[str, Any]:
    """The plan allows ``limit`` / 5 s, the connection is left at its defaults."""
    args = ("--leads", str(leads), "--rate-limit-calls", str(limit), "--rate-limit-period", "5")
    with _serve(*args, "--rate-limit-style", style) as url:
        truth = _truth(url)
        result = run(url, list(truth), work, code=code)
    stats = result["sandbox"]
    return {
        "rate-limit answers": stats["rate_limited"],
        "of the plan's ceiling": f"{utilization(stats, limit, 5.0):.2f}",
        "data": outcome(result, truth),
    }


def one_machine(code: Path | None, work: Path) -> dict[str, Any]:
    """Four tasks at once on one machine, no rate-limit extras, a 25 / 5 s plan."""
    with _serve("--leads", "160") as url:
        truth = _truth(url)
        result = run(url, list(truth), work, code=code, processes=4)
    return {"rate-limit answers": result["sandbox"]["rate_limited"], "data": outcome(result, truth)}


def region(code: Path | None, work: Path) -> dict[str, Any]:
    """The connection names another region's host (the account's is ``localhost``)."""
    with _serve("--leads", "10", "--account-host", "localhost") as url:
        truth = _truth(url)
        result = run(url, list(truth), work, code=code)  # url is 127.0.0.1: "another region"
    return {"401 answers": result["sandbox"]["wrong_host"], "data": outcome(result, truth)}


def daily_cap(code: Path | None, work: Path) -> dict[str, Any]:
    """The account may make 40 calls a day; its other integrations need 10 of them."""
    with _serve("--leads", "60", "--daily-call-cap", "40") as url:
        truth = _truth(url)
        # The code before has no daily_call_cap extra (it would refuse it as unknown).
        extra = {} if code is not None else {"daily_call_cap": 30}
        result = run(url, list(truth), work, code=code, timeout=45.0, **extra)
    stats = result["sandbox"]
    return {
        "calls used of the account's 40": stats["calls_today"],
        "left for other integrations": 40 - stats["calls_today"],
        "outcome": outcome(result, truth),
    }


def first_seconds(code: Path | None, work: Path, processes: int, redis_url: str | None, **extra: Any) -> dict:
    """160 one-page leads on a 25 / 5 s plan, from hook creation to the last activity."""
    with _serve("--leads", "300") as url:
        truth = {lead: n for lead, n in _truth(url).items() if 0 < n <= 1000}
        ids = list(truth)[:160]
        if redis_url:
            extra["rate_limit_backend"] = redis_url
        result = run(url, ids, work, code=code, processes=processes, **extra)
    ideal = ideal_seconds(len(ids), 25, 5.0)
    return {
        f"seconds (ideal {ideal:.1f})": f"{result['seconds']:.1f}",
        "of the ideal": f"{ideal / result['seconds']:.3f}" if result["seconds"] > 0 else "-",
        "rate-limit answers": result["sandbox"]["rate_limited"],
        "data": outcome(result, {i: truth[i] for i in ids}),
    }


def long_lead(code: Path | None, work: Path) -> dict[str, Any]:
    """One lead of 1,500 activities paged 60 at a time on a 5 / 5 s plan: progress lines."""
    with _serve("--leads", "60", "--rate-limit-calls", "5", "--rate-limit-period", "5") as url:
        truth = _truth(url)
        lead = max(truth, key=truth.get)
        run_dir = Path(tempfile.mkdtemp(dir=work, prefix="progress-"))
        env = {
            **conn_env(url, page_size=60, rate_limit_calls=5),
            "TMPDIR": str(run_dir),
            **({"LEADACT_CODE": str(code)} if code else {}),
        }
        out = run_dir / "progress.json"
        subprocess.run([sys.executable, str(WORKER), "progress", "lsq_bench", lead, str(out)], env=env, check=True)
    result = json.loads(out.read_text())
    return {
        "paging took, s": f"{result['seconds']:.0f}",
        "progress lines": result["lines"],
        "longest silence, s": f"{result['longest_gap']:.0f}",
    }


def main(work: Path) -> str:
    """Run every scenario before and now; return the Markdown section for ``bench/RESULTS.md``."""
    before = before_code(work)
    scenarios = [
        (
            "plan 10 / 5 s (HTTP 429), connection at its defaults, 60 leads",
            lambda c: learned_limit(c, work, 60, 10, "429"),
        ),
        ("plan 5 / 5 s as HTTP 200 + MX exception, defaults, 30 leads", lambda c: learned_limit(c, work, 30, 5, "200")),
        ("4 tasks at once on one machine, no rate-limit extras, 25 / 5 s, 160 leads", lambda c: one_machine(c, work)),
        ("connection names another region's host", lambda c: region(c, work)),
        ("account's daily cap 40; connection's daily_call_cap 30 (now only)", lambda c: daily_cap(c, work)),
        ("one long lead paged (1,500 activities, 60 per page, plan 5 / 5 s)", lambda c: long_lead(c, work)),
    ]
    lines = [
        f"Account limits: each situation before (commit {BEFORE}) and now, sandbox latency {LATENCY * 1000:.0f} ms.",
        "",
        "| situation | before | now |",
        "| --- | --- | --- |",
    ]

    def cell(figures: dict[str, Any] | None) -> str:
        if figures is None:
            return "(not run: no git history)"
        return "; ".join(f"{name}: {value}" for name, value in figures.items())

    for name, scenario in scenarios:
        old = scenario(before) if before else None
        new = scenario(None)
        lines.append(f"| {name} | {cell(old)} | {cell(new)} |")
        print(lines[-1], flush=True)
    with redis_server() as redis_url:
        first = [
            ("first seconds: one task, 160 one-page leads, plan 25 / 5 s", 1, None),
            ("first seconds: three processes on one Redis budget", 3, redis_url),
        ]
        for name, processes, url in first:
            old = first_seconds(before, work, processes, url) if before else None
            stated = first_seconds(None, work, processes, url, rate_limit_calls=25)
            assumed = first_seconds(None, work, processes, url)
            lines.append(f"| {name}; now with rate_limit_calls 25 | {cell(old)} | {cell(stated)} |")
            lines.append(f"| {name}; now at the defaults (limit assumed, confirmed as it goes) | | {cell(assumed)} |")
            print("\n".join(lines[-2:]), flush=True)
    return "\n".join(lines)
