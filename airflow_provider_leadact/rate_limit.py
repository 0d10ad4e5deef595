"""The account's call budget: at most N calls in any window of P seconds.

LeadSquared applies its rate limit per account, so every thread, task and worker that uses
the same access key must draw on one budget. The budget is a sliding-window log: before a
call, a caller records its timestamp if fewer than N timestamps lie in the last P (+ margin)
seconds, and otherwise sleeps until the oldest one leaves the window. Three backends hold
the log:

- ``memory``: one process (threads of a task); the default.
- ``file`` or ``file:/some/dir``: processes on one machine (LocalExecutor), through an
  ``fcntl`` lock on a small file.
- ``redis://host:port/db``: workers on many machines (Celery, Kubernetes); a Lua script keeps
  the log in a sorted set and uses the Redis server's clock, so clock skew between workers
  cannot widen or narrow the window.

The margin is added on the client side because what counts is when calls *arrive* at the
server, and network jitter can bring two calls closer together than they were sent. Grants are
also spaced by a small fraction of the window (a quarter of the average spacing): a full burst
still goes out within a quarter of the window, but its calls do not all contend for the CPU,
the connection pool and the network at the same instant, which is what delays some sends and
lets them arrive late, next to the following window's first calls.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from airflow_provider_leadact.exceptions import LeadSquaredConfigError


class CallBudget(Protocol):
    """Something that hands out permission for one API call at a time."""

    calls: int
    window_seconds: float

    def acquire(self) -> float:
        """Block until a call may be made; return the seconds waited."""
        ...


class _WindowLog:
    """The sliding-window decision shared by the in-process and file backends."""

    @staticmethod
    def try_take(stamps: deque[float], now: float, calls: int, window: float) -> float:
        """Record ``now`` and return 0 if a slot is free, else return the seconds to wait."""
        while stamps and stamps[0] <= now - window:
            stamps.popleft()
        if stamps and now - stamps[-1] < spacing(calls, window):
            return max(spacing(calls, window) - (now - stamps[-1]), 0.001)
        if len(stamps) < calls:
            stamps.append(now)
            return 0.0
        return max(stamps[0] + window - now, 0.001)


def spacing(calls: int, window: float) -> float:
    """The least time between two grants: a quarter of the average spacing the limit allows."""
    return window / calls / 4


class MemoryBudget:
    """A budget shared by the threads of one process."""

    def __init__(self, calls: int, window_seconds: float):
        self.calls = calls
        self.window_seconds = window_seconds
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with self._lock:
                wait = _WindowLog.try_take(self._stamps, time.monotonic(), self.calls, self.window_seconds)
            if wait == 0.0:
                return waited
            time.sleep(wait)
            waited += wait


class FileBudget:
    """A budget shared by the processes of one machine through a locked file.

    Wall-clock time is used because it is the one clock all processes of a machine share.
    """

    def __init__(self, calls: int, window_seconds: float, path: str):
        self.calls = calls
        self.window_seconds = window_seconds
        self.path = path
        self._thread_lock = threading.Lock()

    def acquire(self) -> float:
        import fcntl

        waited = 0.0
        while True:
            with self._thread_lock, open(self.path, "a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    handle.seek(0)
                    try:
                        stamps = deque(json.loads(handle.read() or "[]"))
                    except ValueError:
                        stamps = deque()  # a torn file from a killed process: start afresh
                    wait = _WindowLog.try_take(stamps, time.time(), self.calls, self.window_seconds)
                    if wait == 0.0:
                        handle.seek(0)
                        handle.truncate()
                        handle.write(json.dumps(list(stamps)))
                        handle.flush()
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            if wait == 0.0:
                return waited
            time.sleep(wait)
            waited += wait


# KEYS[1]: the sorted set; ARGV: limit, window in microseconds, a unique member, least gap.
# Returns 0 when the call may go, else the microseconds to wait. TIME is the Redis server's
# clock: every worker is judged by the same clock.
_REDIS_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local gap = tonumber(ARGV[4])
if newest[2] and now - tonumber(newest[2]) < gap then
  return math.max(gap - (now - tonumber(newest[2])), 1000)
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1000)
"""


class RedisBudget:
    """A budget shared by every worker that reaches one Redis server."""

    def __init__(self, calls: int, window_seconds: float, url: str, key: str):
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the installation
            raise LeadSquaredConfigError(
                "rate_limit_backend is a redis:// URL but the redis package is not installed: "
                "pip install 'airflow-provider-leadact[redis]'"
            ) from None
        self.calls = calls
        self.window_seconds = window_seconds
        self._client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        self._script = self._client.register_script(_REDIS_TAKE)
        self._key = key

    def acquire(self) -> float:
        waited = 0.0
        window_us = int(self.window_seconds * 1_000_000)
        gap_us = int(spacing(self.calls, self.window_seconds) * 1_000_000)
        while True:
            wait_us = int(self._script(keys=[self._key], args=[self.calls, window_us, uuid.uuid4().hex, gap_us]))
            if wait_us == 0:
                return waited
            time.sleep(wait_us / 1_000_000)
            waited += wait_us / 1_000_000


@dataclass(frozen=True)
class Backend:
    """Where the budget's log lives, parsed from the ``rate_limit_backend`` extra.

    :param kind: ``memory``, ``file`` or ``redis``.
    :param location: the folder (``file``; None for the temporary folder) or the URL (``redis``).
    """

    kind: str
    location: str | None = None

    def __str__(self) -> str:
        if self.kind == "redis":
            # The URL may carry a Redis password: only its host is shown.
            parts = urlsplit(self.location or "")
            return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"
        return f"file:{self.location}" if self.location else self.kind


#: The forms ``rate_limit_backend`` accepts, for error messages and the docs.
BACKEND_FORMS = (
    "'memory' (one process), 'file' or 'file:/some/dir' (processes on one machine) or "
    "'redis://host:6379/0' (workers on many machines)"
)


def parse_backend(text: str) -> Backend:
    """Parse a ``rate_limit_backend`` value; the one place its forms are known.

    :raises ValueError: naming the accepted forms.
    """
    value = text.strip()
    kind = value.split(":", 1)[0].lower()
    if value == "memory":
        return Backend("memory")
    if value == "file" or (kind == "file" and value.startswith("file:")):
        return Backend("file", value[len("file:") :] or None)
    if kind in ("redis", "rediss") and urlsplit(value).hostname:
        return Backend("redis", value)
    raise ValueError(f"use {BACKEND_FORMS}")


def auto_margin(period_seconds: float) -> float:
    """The safety margin used when the connection sets none: 3% of the period, 0.1 to 1 s."""
    return min(1.0, max(0.1, 0.03 * period_seconds))


@dataclass(frozen=True)
class Limit:
    """The account's limit, ``calls`` per ``period_seconds``, and the window the budget keeps.

    The window is the period plus a safety margin (see the module's docstring): the one place
    where the margin meets the period.

    :param margin_seconds: None for :func:`auto_margin`.
    """

    calls: int
    period_seconds: float
    margin_seconds: float | None = None

    @property
    def window_seconds(self) -> float:
        """The client-side window: the period plus the margin."""
        margin = auto_margin(self.period_seconds) if self.margin_seconds is None else self.margin_seconds
        return self.period_seconds + margin


_BUDGETS: dict[tuple[Backend, str, Limit], CallBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def get_budget(backend: Backend, account_key: str, limit: Limit) -> CallBudget:
    """Return the process-wide budget for one account, creating it on first use.

    Hooks in the same process that use the same access key share the returned object, so
    threads of one task and tasks of one process never each believe they own the budget.

    :param backend: where the log lives (:func:`parse_backend`).
    :param account_key: a hash naming the account (never the key itself).
    :param limit: the account's limit and margin.
    """
    cache_key = (backend, account_key, limit)
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(cache_key)
        if budget is None:
            budget = _make_budget(backend, account_key, limit.calls, limit.window_seconds)
            _BUDGETS[cache_key] = budget
        return budget


def _make_budget(backend: Backend, account_key: str, calls: int, window_seconds: float) -> CallBudget:
    if backend.kind == "memory":
        return MemoryBudget(calls, window_seconds)
    if backend.kind == "file":
        folder = backend.location or tempfile.gettempdir()
        os.makedirs(folder, exist_ok=True)
        return FileBudget(calls, window_seconds, os.path.join(folder, f"leadact-budget-{account_key}.json"))
    return RedisBudget(calls, window_seconds, backend.location or "", f"leadact:budget:{account_key}")
