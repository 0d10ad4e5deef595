"""The budget never lets more than N calls into any window, across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import datetime, timezone

import pytest

from airflow_provider_leadact import rate_limit
from airflow_provider_leadact.exceptions import LeadSquaredDailyCapReached
from airflow_provider_leadact.rate_limit import (
    UNCONFIRMED_IN_FLIGHT,
    Backend,
    FileBudget,
    Limit,
    MemoryBudget,
    RedisBudget,
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
    budget = MemoryBudget(Limit(CALLS, PERIOD, MARGIN))
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
    budget = FileBudget(Limit(CALLS, PERIOD, MARGIN), path)
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
    assert auto_margin(0.5) == 0.1 and auto_margin(5.0) == pytest.approx(0.1) and auto_margin(600) == 1.0
    assert Limit(25, 5.0).lowered_to(10, 5.0) == Limit(10, 5.0)
    assert Limit(25, 5.0).lowered_to(50, 10.0) == Limit(25, 10.0)


@pytest.fixture(params=["memory", "file", "redis"])
def make_budget(request, tmp_path):
    """Budgets of one kind sharing one state (two objects, as two processes would hold)."""

    def make(limit: Limit, daily_cap: int | None = None):
        if request.param == "memory":
            return MemoryBudget(limit, daily_cap)
        if request.param == "file":
            return FileBudget(limit, str(tmp_path / "budget.json"), daily_cap)
        url = request.getfixturevalue("redis_url")
        return RedisBudget(limit, url, f"test:{request.node.name}:{id(tmp_path)}", daily_cap)

    if request.param == "memory":
        shared = {}

        def make_shared(limit: Limit, daily_cap: int | None = None):
            # One object stands for the whole process: the memory budget is not shared further.
            return shared.setdefault("budget", MemoryBudget(limit, daily_cap))

        return make_shared
    return make


def grants_in(budget, seconds: float) -> int:
    """How many calls the budget grants within ``seconds`` (a caller asking all the while)."""
    deadline = time.monotonic() + seconds
    granted: list[float] = []

    def take():
        try:
            while time.monotonic() < deadline:
                budget.acquire()
                granted.append(time.monotonic())
        except Exception:  # the budget's Redis stopped after the test: nothing left to measure
            return

    # A daemon: its last request may wait past the deadline for a slot it no longer needs.
    threading.Thread(target=take, daemon=True).start()
    time.sleep(seconds + 0.05)
    return sum(1 for stamp in granted if stamp <= deadline)


def test_a_learned_limit_lowers_every_sharers_budget(make_budget):
    one = make_budget(Limit(20, 1.0, 0.0))
    other = make_budget(Limit(20, 1.0, 0.0))
    assert one.learn(3, 1.0) is True
    assert one.learn(3, 1.0) is False and one.learn(10, 1.0) is False  # nothing lower to learn
    grant = other.acquire()
    assert (grant.limit.calls, grant.limit.period_seconds) == (3, 1.0)
    assert grants_in(other, 0.6) <= 2  # 3 per second, one already taken


def test_a_sharer_that_has_not_seen_a_learned_limit_compares_with_it(make_budget):
    one = make_budget(Limit(20, 1.0, 0.0))
    other = make_budget(Limit(20, 1.0, 0.0))
    assert one.learn(3, 2.0) is True
    # Looser than what one learned (though stricter than other's own limit): nothing to learn.
    assert other.learn(10, 1.0) is False
    assert other.learn(3, 3.0) is True
    assert (one.acquire().limit.calls, one.acquire().limit.period_seconds) == (3, 3.0)


def test_a_learned_limit_expires(make_budget, monkeypatch):
    monkeypatch.setattr(rate_limit, "LEARNED_TTL_SECONDS", 0.3)
    budget = make_budget(Limit(20, 1.0, 0.0))
    budget.learn(3, 1.0)
    assert budget.acquire().limit.calls == 3
    time.sleep(0.4)
    assert budget.acquire().limit.calls == 20


def test_the_daily_cap_is_never_exceeded_and_counted_for_every_sharer(make_budget):
    one = make_budget(Limit(100, 1.0, 0.0), daily_cap=5)
    other = make_budget(Limit(100, 1.0, 0.0), daily_cap=5)
    assert [one.acquire().calls_today for _ in range(3)] == [1, 2, 3]
    assert [other.acquire().calls_today for _ in range(2)] == [4, 5]
    with pytest.raises(LeadSquaredDailyCapReached) as info:
        one.acquire()
    message = str(info.value)
    assert "5 of 5 calls used today" in message and "resets at" in message and "UTC" in message
    assert info.value.resets_at.hour == 0 and info.value.resets_at > datetime.now(timezone.utc)


def test_the_day_resets_at_midnight_utc():
    state = rate_limit._empty_state()
    limit = Limit(100, 1.0, 0.0)
    late = datetime(2026, 1, 1, 23, 59, 59, tzinfo=timezone.utc).timestamp()
    for n in range(2):
        assert rate_limit._take(state, late + n, late, limit, 2)[1].calls_today == n + 1
    with pytest.raises(LeadSquaredDailyCapReached):
        rate_limit._take(state, late + 3, late, limit, 2)
    assert rate_limit._take(state, late + 4, late + 2, limit, 2)[1].calls_today == 1


def test_an_assumed_limit_grants_few_calls_beyond_what_the_server_confirmed(make_budget):
    # A window far longer than the measurements, so no grant leaves it meanwhile and a slow
    # machine only shortens how long the thread has, never what it is allowed.
    budget = make_budget(Limit(20, 10.0, 0.0, stated=False))
    positions = [budget.acquire().position for _ in range(UNCONFIRMED_IN_FLIGHT)]
    assert positions == list(range(UNCONFIRMED_IN_FLIGHT))
    # One caller asking all along, so no waiting caller of an earlier measurement takes a slot
    # the next one counts.
    granted: list[float] = []
    done = threading.Event()

    def take():
        try:
            while not done.is_set():
                budget.acquire()
                granted.append(time.monotonic())
        except Exception:  # the budget's Redis or file went away after the test
            return

    caller = threading.Thread(target=take, daemon=True)
    caller.start()
    time.sleep(0.5)
    assert granted == []  # nothing confirmed yet: wait for answers
    budget.confirm(2)
    time.sleep(1.5)
    assert len(granted) == 2
    done.set()
    budget.confirm(20)  # lets the caller's last request through, so it ends here
    caller.join(timeout=5)
    stated = make_budget(Limit(20, 10.0, 0.0, stated=True))
    assert stated is budget or grants_in(stated, 1.5) > UNCONFIRMED_IN_FLIGHT


class _Slept(Exception):
    """Raised by a stand-in for time.sleep, to read how long a budget would wait."""


def test_a_learned_limit_spaces_grants_by_its_own_window(make_budget, monkeypatch):
    # The automatic margin is 2 % of the period in force: 1 s for a learned 50 s period, where
    # the connection's 10 s would give 0.2 s. Every backend must space grants by Limit's window.
    limit = Limit(20, 10.0)
    budget = make_budget(limit)
    assert budget.learn(2, 50.0) is True
    budget.acquire()
    waits: list[float] = []
    real_sleep, caller = time.sleep, threading.current_thread()

    def sleep(seconds: float) -> None:
        if threading.current_thread() is not caller:  # a caller another test left waiting
            real_sleep(seconds)
            return
        waits.append(seconds)
        raise _Slept

    monkeypatch.setattr(rate_limit.time, "sleep", sleep)
    with pytest.raises(_Slept):
        budget.acquire()
    spacing = limit.lowered_to(2, 50.0).spacing_seconds  # (50 s + 1 s) / 2 calls / 4
    assert spacing - 0.05 < waits[0] <= spacing
