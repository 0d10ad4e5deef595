"""The budget never lets more than N calls into any window, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from airflow_provider_leadact.rate_limit import (
    Backend,
    FileBudget,
    Limit,
    MemoryBudget,
    auto_margin,
    get_budget,
    parse_backend,
)

CALLS = 5
PERIOD = 0.5
MARGIN = 0.1


def max_in_window(stamps: list[float], period: float) -> int:
    stamps = sorted(stamps)
    best = 0
    start = 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_memory_budget_threads_never_exceed_and_keep_it_full():
    budget = MemoryBudget(CALLS, PERIOD + MARGIN)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(6):
            budget.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert len(stamps) == 48
    assert max_in_window(stamps, PERIOD) <= CALLS
    # 48 calls at 5 per 0.6 s: the first 5 at once, then 9 more windows. Not much slower.
    assert elapsed < (48 / CALLS) * (PERIOD + MARGIN) + 1.0


def _file_worker(path: str, out) -> None:
    budget = FileBudget(CALLS, PERIOD + MARGIN, path)
    for _ in range(5):
        budget.acquire()
        out.put(time.time())


def test_file_budget_is_shared_by_processes(tmp_path):
    path = str(tmp_path / "budget.json")
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    procs = [multiprocessing.get_context("fork").Process(target=_file_worker, args=(path, queue)) for _ in range(3)]
    for proc in procs:
        proc.start()
    stamps = [queue.get(timeout=30) for _ in range(15)]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert max_in_window(stamps, PERIOD) <= CALLS


def test_budgets_are_shared_per_account_in_a_process():
    memory = parse_backend("memory")
    one = get_budget(memory, "account-a", Limit(25, 5.0))
    assert get_budget(memory, "account-a", Limit(25, 5.0)) is one
    assert get_budget(memory, "account-b", Limit(25, 5.0)) is not one


@pytest.mark.parametrize(
    ("backend", "parsed"),
    [
        ("memory", Backend("memory")),
        ("file", Backend("file")),
        ("file:/tmp/x", Backend("file", "/tmp/x")),
        ("redis://localhost:6379/0", Backend("redis", "redis://localhost:6379/0")),
    ],
)
def test_known_backends(backend, parsed):
    assert parse_backend(backend) == parsed


@pytest.mark.parametrize("backend", ["mem", "redis://", "postgres://x", "", "file/tmp"])
def test_unknown_backends_are_refused(backend):
    with pytest.raises(ValueError, match="'memory' \\(one process\\)"):
        parse_backend(backend)


def test_a_redis_password_never_shows_in_the_backends_text():
    assert "hunter2" not in str(parse_backend("redis://:hunter2@redis.internal:6380/0"))


def test_the_window_is_the_period_plus_the_margin():
    assert Limit(25, 5.0, 0.0).window_seconds == 5.0
    assert Limit(25, 5.0, 0.4).window_seconds == 5.4
    assert Limit(25, 5.0).window_seconds == 5.0 + auto_margin(5.0)
    assert 0.1 <= auto_margin(0.5) and auto_margin(5.0) == pytest.approx(0.15) and auto_margin(600) == 1.0
