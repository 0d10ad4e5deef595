"""The account's call budget: at most N calls in any window of P seconds, and a daily count.

LeadSquared applies its rate limit (and any daily cap) per account, so every thread, task and
worker that uses the same access key must draw on one budget. The budget is a sliding-window
log: before a call, a caller records its timestamp if fewer than N timestamps lie in the last
P (+ margin) seconds, and otherwise sleeps until the oldest one leaves the window. Beside the
log, the budget's shared state holds what the account has taught its users:

- the **learned limit**: a rate-limit answer states the limit in force ("API calls exceeded the
  limit of 10 in 5 second(s)"); a limit below the connection's lowers the budget at once for
  everyone sharing it (kept :data:`LEARNED_TTL_SECONDS`, then the connection's is tried again);
- the **confirmed level**: the most calls the server has accepted in one window. While the
  connection does not state the plan's limit, at most :data:`UNCONFIRMED_IN_FLIGHT` calls
  beyond that level are granted, so a plan below the assumed 25 costs at most that many
  rate-limit answers before its limit is learned;
- the **calls made today** (UTC), checked against the connection's ``daily_call_cap``.

Three backends hold the state:

- ``file`` or ``file:/some/dir``: processes on one machine, through an ``fcntl`` lock on a
  small file; the default, in a per-user folder of the temporary directory, so every task
  on a machine (LocalExecutor, ``dag.test()``) shares one budget without being told to.
- ``memory``: one process (threads of a task).
- ``redis://host:port/db``: workers on many machines (Celery, Kubernetes); a Lua script keeps
  the state in Redis and uses the Redis server's clock, so clock skew between workers cannot
  widen or narrow the window.

The window arithmetic lives in :class:`Limit` (the Redis scripts take its results as arguments). The
margin is added on the client side because what counts is when calls *arrive* at the
server, and network jitter can bring two calls closer together than they were sent. Grants
are also spaced by a small fraction of the window's average spacing: a full burst still
goes out at once for practical purposes, but its calls do not all contend for the CPU, the
connection pool and the network at the same instant, which is what delays some sends and
lets them arrive late, next to the following window's first calls.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_leadact.exceptions import LeadSquaredConfigError, LeadSquaredDailyCapReached

#: Calls a plan is assumed to allow per period when the connection does not say (the common plan).
ASSUMED_CALLS = 25
#: Grants are at least ``window / calls / GRANT_SPACING_DIVISOR`` apart (see the module docstring).
GRANT_SPACING_DIVISOR = 4
#: How long a learned limit is kept before the connection's limit is tried again.
LEARNED_TTL_SECONDS = 3600.0
#: How long a confirmed level is kept after it was last seen (a day: a daily schedule finds it).
CONFIRMED_TTL_SECONDS = 86_400.0
#: Calls granted beyond the confirmed level at once while the plan's limit is not known.
UNCONFIRMED_IN_FLIGHT = 3
#: How long a fact about the server (how its listing reads, which spans it answers) is kept
#: after it was last shared: days, so daily runs and backfills start from it.
FACTS_TTL_SECONDS = 7 * 86_400.0


# -- where the budget lives ----------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """Where the budget's state lives, parsed from the ``rate_limit_backend`` extra.

    :param kind: ``memory``, ``file`` or ``redis``.
    :param location: the folder (``file``; None for :func:`default_folder`) or the URL (``redis``).
    """

    kind: str
    location: str | None = None

    def __str__(self) -> str:
        if self.kind == "redis":
            # The URL may carry a Redis password: only its host is shown.
            parts = urlsplit(self.location or "")
            return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}"
        return f"file:{self.location}" if self.location else self.kind

    @property
    def cross_machine(self) -> bool:
        """Whether workers on several machines can share it (``redis`` only)."""
        return self.kind == "redis"


#: The forms ``rate_limit_backend`` accepts, for error messages and the docs.
BACKEND_FORMS = (
    "'file' or 'file:/some/dir' (processes on one machine), 'memory' (one process) or "
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


def default_folder() -> str:
    """The ``file`` backend's folder when none is given: one per user in the temporary directory.

    Per user, so that another user's process cannot tamper with the budget (the folder is
    created private); shared by every process of that user, which is what Airflow's workers
    on one machine are.
    """
    return os.path.join(tempfile.gettempdir(), f"leadact-budget-{os.getuid()}")


# -- the window arithmetic -------------------------------------------------------------------


def auto_margin(period_seconds: float) -> float:
    """The safety margin used when the connection sets none: 2% of the period, 0.1 to 1 s."""
    return min(1.0, max(0.1, 0.02 * period_seconds))


@dataclass(frozen=True)
class Limit:
    """The account's limit, ``calls`` per ``period_seconds``, and the window the budget keeps.

    The window is the period plus a safety margin (see the module's docstring): the one place
    where the margin meets the period.

    :param margin_seconds: None for :func:`auto_margin`.
    :param stated: whether the connection states the limit (``rate_limit_calls`` set); an
        assumed limit is approached with caution until the server confirms it.
    """

    calls: int
    period_seconds: float
    margin_seconds: float | None = None
    stated: bool = True

    @property
    def window_seconds(self) -> float:
        """The client-side window: the period plus the margin."""
        margin = auto_margin(self.period_seconds) if self.margin_seconds is None else self.margin_seconds
        return self.period_seconds + margin

    @property
    def spacing_seconds(self) -> float:
        """The least time between two grants."""
        return self.window_seconds / self.calls / GRANT_SPACING_DIVISOR

    def lowered_to(self, calls: int, period_seconds: float) -> Limit:
        """This limit made no looser than ``calls`` per ``period_seconds`` (a learned limit)."""
        return replace(self, calls=min(self.calls, calls), period_seconds=max(self.period_seconds, period_seconds))

    def is_looser_than(self, calls: int, period_seconds: float) -> bool:
        """Whether ``calls`` per ``period_seconds`` is stricter than this limit."""
        return calls < self.calls or period_seconds > self.period_seconds


@dataclass(frozen=True)
class Grant:
    """Permission for one call, and what the budget knew when it gave it.

    :param waited: seconds spent waiting for it.
    :param position: calls already in the window when it was granted (0 for the first).
    :param calls_today: calls granted today (UTC), this one included, by every sharer.
    :param limit: the limit in force (the connection's, or lower when one was learned).
    :param confirmed: calls the server is known to accept in one window.
    """

    waited: float
    position: int
    calls_today: int
    limit: Limit
    confirmed: int


class CallBudget(Protocol):
    """Hands out permission for one API call at a time, and keeps what the account taught."""

    limit: Limit
    daily_cap: int | None

    def acquire(self) -> Grant:
        """Block until a call may be made.

        :raises LeadSquaredDailyCapReached: when the call would exceed ``daily_cap``.
        """
        ...

    def learn(self, calls: int, period_seconds: float) -> bool:
        """Lower the shared limit to what the server said; True if this lowered it."""
        ...

    def confirm(self, level: int) -> None:
        """Record that the server accepted ``level`` calls in one window."""
        ...

    def recall(self, name: str) -> Any:
        """What the account's sharers remembered under ``name`` (None if nothing, or expired)."""
        ...

    def remember(self, name: str, value: Any, ttl_seconds: float = FACTS_TTL_SECONDS) -> None:
        """Share a JSON-able fact about the account's server for ``ttl_seconds``."""
        ...


# -- the decision, for the in-process and file backends ------------------------------------


def _utc_day(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%d")


def _day_reset(day: str) -> datetime:
    return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=1)


def _empty_state() -> dict[str, Any]:
    return {"stamps": [], "learned": None, "confirmed": [0, 0.0], "day": "", "day_calls": 0, "facts": {}}


def _recall(state: dict[str, Any], name: str, wall: float) -> Any:
    entry = (state.get("facts") or {}).get(name)
    return entry[0] if isinstance(entry, list) and len(entry) == 2 and entry[1] > wall else None


def _remember(state: dict[str, Any], name: str, value: Any, until: float) -> None:
    facts = state.get("facts")
    if not isinstance(facts, dict):
        facts = {}
    facts[name] = [value, until]
    state["facts"] = facts


def _in_force(state: dict[str, Any], limit: Limit, wall: float) -> tuple[Limit, int]:
    """The limit in force and the confirmed level, dropping what has expired."""
    learned = state.get("learned")
    if learned and learned[2] > wall:
        limit = limit.lowered_to(int(learned[0]), float(learned[1]))
    else:
        state["learned"] = None
    confirmed, until = state.get("confirmed") or (0, 0.0)
    if until <= wall:
        confirmed = 0
    return limit, int(confirmed)


def _take(state: dict[str, Any], now: float, wall: float, limit: Limit, cap: int | None) -> tuple[float, Grant | None]:
    """Grant a call (record it, return ``(0, grant)``) or return ``(seconds to wait, None)``.

    ``now`` times the log (any clock all sharers read alike); ``wall`` is the real time, for
    the UTC day and expiries.
    """
    day = _utc_day(wall)
    if state.get("day") != day:
        state["day"], state["day_calls"] = day, 0
    if cap is not None and state["day_calls"] >= cap:
        raise LeadSquaredDailyCapReached(cap, state["day_calls"], _day_reset(day))
    in_force, confirmed = _in_force(state, limit, wall)
    window = in_force.window_seconds
    stamps = [stamp for stamp in state["stamps"] if stamp > now - window]
    state["stamps"] = stamps
    if stamps and now - stamps[-1] < in_force.spacing_seconds:
        return max(in_force.spacing_seconds - (now - stamps[-1]), 0.001), None
    position = len(stamps)
    if not limit.stated and position >= confirmed + UNCONFIRMED_IN_FLIGHT and confirmed < in_force.calls:
        # Beyond what the server has confirmed: wait for answers to confirm more.
        return 0.05, None
    if position >= in_force.calls:
        return max(stamps[0] + window - now, 0.001), None
    stamps.append(now)
    state["day_calls"] += 1
    return 0.0, Grant(0.0, position, state["day_calls"], in_force, confirmed)


def _learn(state: dict[str, Any], limit: Limit, calls: int, period: float, wall: float) -> bool:
    in_force, _ = _in_force(state, limit, wall)
    if not in_force.is_looser_than(calls, period):
        return False
    state["learned"] = [calls, period, wall + LEARNED_TTL_SECONDS]
    return True


def _confirm(state: dict[str, Any], level: int, wall: float) -> None:
    confirmed, until = state.get("confirmed") or (0, 0.0)
    if until <= wall:
        confirmed = 0
    if level >= confirmed:
        state["confirmed"] = [level, wall + CONFIRMED_TTL_SECONDS]


class MemoryBudget:
    """A budget shared by the threads of one process."""

    def __init__(self, limit: Limit, daily_cap: int | None = None):
        self.limit = limit
        self.daily_cap = daily_cap
        self._state = _empty_state()
        self._lock = threading.Lock()

    def acquire(self) -> Grant:
        waited = 0.0
        while True:
            with self._lock:
                wait, grant = _take(self._state, time.monotonic(), time.time(), self.limit, self.daily_cap)
            if grant is not None:
                return replace(grant, waited=waited)
            time.sleep(wait)
            waited += wait

    def learn(self, calls: int, period_seconds: float) -> bool:
        with self._lock:
            return _learn(self._state, self.limit, calls, period_seconds, time.time())

    def confirm(self, level: int) -> None:
        with self._lock:
            _confirm(self._state, level, time.time())

    def recall(self, name: str) -> Any:
        with self._lock:
            return _recall(self._state, name, time.time())

    def remember(self, name: str, value: Any, ttl_seconds: float = FACTS_TTL_SECONDS) -> None:
        with self._lock:
            _remember(self._state, name, value, time.time() + ttl_seconds)


class FileBudget:
    """A budget shared by the processes of one machine through a locked file.

    Wall-clock time is used because it is the one clock all processes of a machine share.
    """

    def __init__(self, limit: Limit, path: str, daily_cap: int | None = None):
        self.limit = limit
        self.daily_cap = daily_cap
        self.path = path
        self._thread_lock = threading.Lock()

    def _update(self, change: Any) -> Any:
        """Run ``change(state)`` under the file's lock and write the state back."""
        import fcntl

        with self._thread_lock, open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                handle.seek(0)
                try:
                    state = json.loads(handle.read() or "{}")
                except ValueError:
                    state = {}  # a torn file from a killed process: start afresh
                if not isinstance(state, dict):
                    state = {}
                state = {**_empty_state(), **state}
                result = change(state)
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
                handle.flush()
                return result
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def acquire(self) -> Grant:
        waited = 0.0
        while True:
            wait, grant = self._update(self._take_now)
            if grant is not None:
                return replace(grant, waited=waited)
            time.sleep(wait)
            waited += wait

    def _take_now(self, state: dict[str, Any]) -> tuple[float, Grant | None]:
        # The time is read under the lock, so grants enter the log in time order.
        wall = time.time()
        return _take(state, wall, wall, self.limit, self.daily_cap)

    def learn(self, calls: int, period_seconds: float) -> bool:
        return self._update(lambda state: _learn(state, self.limit, calls, period_seconds, time.time()))

    def confirm(self, level: int) -> None:
        self._update(lambda state: _confirm(state, level, time.time()))

    def recall(self, name: str) -> Any:
        return self._update(lambda state: _recall(state, name, time.time()))

    def remember(self, name: str, value: Any, ttl_seconds: float = FACTS_TTL_SECONDS) -> None:
        self._update(lambda state: _remember(state, name, value, time.time() + ttl_seconds))


# -- Redis: the same decision in one Lua script, on the Redis server's clock -----------------

# The scripts keep the state and decide on the Redis server's clock; the arithmetic of the limit
# in force (the learned limit's lowering, the window's margin, the spacing) is Limit's, done
# in Python and passed in. The caller says which learned limit it computed them from; when
# another has come into force (learned by a sharer, or expired), a script changes nothing and
# returns the one in force, and the caller computes again and asks again.

# KEYS[1]: the log (a sorted set); KEYS[2]: the state (a hash: learned calls / period (us) /
# until, confirmed level / until, day, day_calls). ARGV: the learned calls and period (us) the
# caller assumed in force (-1, -1 for none), calls in force, window (us), spacing (us), stated
# (0/1), a unique member, daily cap (-1 for none), the unconfirmed allowance. Returns {wait_us,
# position, calls_today, confirmed}; wait_us -1 when the daily cap is spent, -2 when another
# learned limit is in force (then {-2, its calls, its period (us)}, -1s for none). Mirrors _take.
_REDIS_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local calls, window, gap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local stated, cap, allowance = tonumber(ARGV[6]), tonumber(ARGV[8]), tonumber(ARGV[9])
local s = redis.call('HMGET', KEYS[2], 'lc', 'lp', 'lu', 'cl', 'cu', 'day', 'dc')
local day = math.floor(now / 86400000000)
local day_calls = 0
if tonumber(s[6]) == day then day_calls = tonumber(s[7]) or 0 end
if cap >= 0 and day_calls >= cap then
  return {-1, 0, day_calls, 0}
end
local lc, lp = -1, -1
if s[3] and tonumber(s[3]) > now then lc, lp = tonumber(s[1]), tonumber(s[2]) end
if lc ~= tonumber(ARGV[1]) or lp ~= tonumber(ARGV[2]) then
  return {-2, lc, lp, 0}
end
local confirmed = 0
if s[5] and tonumber(s[5]) > now then confirmed = tonumber(s[4]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] and now - tonumber(newest[2]) < gap then
  return {math.max(gap - (now - tonumber(newest[2])), 1000), 0, day_calls, confirmed}
end
local position = redis.call('ZCARD', KEYS[1])
if stated == 0 and position >= confirmed + allowance and confirmed < calls then
  return {50000, 0, day_calls, confirmed}
end
if position >= calls then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {math.max(tonumber(oldest[2]) + window - now, 1000), 0, day_calls, confirmed}
end
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
redis.call('HSET', KEYS[2], 'day', day, 'dc', day_calls + 1)
redis.call('PEXPIRE', KEYS[2], 172800000)
return {0, position, day_calls + 1, confirmed}
"""

# KEYS[2] as above; ARGV: calls, period (us) the server stated, calls and period (us) in force,
# the learned calls and period (us) the caller assumed in force (-1, -1 for none), ttl (us).
# Returns {1 when this lowered the limit in force, else 0, or -1 when another learned limit is
# in force; the learned calls and period (us) in force now, -1s for none}.
_REDIS_LEARN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[2], 'lc', 'lp', 'lu')
local lc, lp = -1, -1
if s[3] and tonumber(s[3]) > now then lc, lp = tonumber(s[1]), tonumber(s[2]) end
if lc ~= tonumber(ARGV[5]) or lp ~= tonumber(ARGV[6]) then return {-1, lc, lp} end
if tonumber(ARGV[1]) >= tonumber(ARGV[3]) and tonumber(ARGV[2]) <= tonumber(ARGV[4]) then return {0, lc, lp} end
redis.call('HSET', KEYS[2], 'lc', ARGV[1], 'lp', ARGV[2], 'lu', now + tonumber(ARGV[7]))
redis.call('PEXPIRE', KEYS[2], 172800000)
return {1, tonumber(ARGV[1]), tonumber(ARGV[2])}
"""

# KEYS[2] as above; ARGV: level, ttl (us).
_REDIS_CONFIRM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[2], 'cl', 'cu')
local level = 0
if s[2] and tonumber(s[2]) > now then level = tonumber(s[1]) end
if tonumber(ARGV[1]) >= level then
  redis.call('HSET', KEYS[2], 'cl', ARGV[1], 'cu', now + tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[2], 172800000)
end
return 0
"""

#: No learned limit, in the scripts' arguments and answers.
_NONE_LEARNED = (-1, -1)


def _us(seconds: float) -> int:
    # Rounded, not truncated: a period read back from microseconds must compare equal.
    return round(seconds * 1_000_000)


class RedisBudget:
    """A budget shared by every worker that reaches one Redis server."""

    def __init__(self, limit: Limit, url: str, key: str, daily_cap: int | None = None):
        try:
            import redis
        except ImportError:  # pragma: no cover - depends on the installation
            raise LeadSquaredConfigError(
                "rate_limit_backend is a redis:// URL but the redis package is not installed: "
                "pip install 'airflow-provider-leadact[redis]'"
            ) from None
        self.limit = limit
        self.daily_cap = daily_cap
        self._client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        self._take = self._client.register_script(_REDIS_TAKE)
        self._learn = self._client.register_script(_REDIS_LEARN)
        self._confirm = self._client.register_script(_REDIS_CONFIRM)
        self._keys = [f"{key}:log", f"{key}:state"]
        self._facts = f"{key}:facts"
        #: The learned limit last seen in force, as (calls, period in us); the scripts say when it changed.
        self._learned: tuple[int, int] = _NONE_LEARNED

    def _in_force(self) -> Limit:
        if self._learned == _NONE_LEARNED:
            return self.limit
        calls, period_us = self._learned
        return self.limit.lowered_to(calls, period_us / 1_000_000)

    def acquire(self) -> Grant:
        waited = 0.0
        cap = -1 if self.daily_cap is None else self.daily_cap
        while True:
            in_force = self._in_force()
            args: list[int | float | str] = [
                *self._learned,
                in_force.calls,
                _us(in_force.window_seconds),
                _us(in_force.spacing_seconds),
                int(self.limit.stated),
                uuid.uuid4().hex,
                cap,
                UNCONFIRMED_IN_FLIGHT,
            ]
            answer = [int(value) for value in self._take(keys=self._keys, args=args)]
            if answer[0] == -2:
                self._learned = (answer[1], answer[2])  # another learned limit is in force: compute again
                continue
            wait_us, position, today, confirmed = answer
            if wait_us == -1:
                day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
                raise LeadSquaredDailyCapReached(cap, today, _day_reset(day))
            if wait_us == 0:
                return Grant(waited, position, today, in_force, confirmed)
            time.sleep(wait_us / 1_000_000)
            waited += wait_us / 1_000_000

    def learn(self, calls: int, period_seconds: float) -> bool:
        while True:
            in_force = self._in_force()
            args = [
                calls,
                _us(period_seconds),
                in_force.calls,
                _us(in_force.period_seconds),
                *self._learned,
                _us(LEARNED_TTL_SECONDS),
            ]
            lowered, learned_calls, learned_period_us = (int(v) for v in self._learn(keys=self._keys, args=args))
            self._learned = (learned_calls, learned_period_us)
            if lowered != -1:
                return bool(lowered)

    def confirm(self, level: int) -> None:
        self._confirm(keys=self._keys, args=[level, _us(CONFIRMED_TTL_SECONDS)])

    def recall(self, name: str) -> Any:
        raw = self._client.get(f"{self._facts}:{name}")
        try:
            return None if raw is None else json.loads(raw)
        except ValueError:
            return None

    def remember(self, name: str, value: Any, ttl_seconds: float = FACTS_TTL_SECONDS) -> None:
        # Redis expires the key itself, on its own clock.
        self._client.set(f"{self._facts}:{name}", json.dumps(value), ex=max(1, int(ttl_seconds)))


# -- one budget per account and process ------------------------------------------------------

_BUDGETS: dict[tuple[Backend, str], CallBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def get_budget(backend: Backend, account_key: str, limit: Limit, daily_cap: int | None = None) -> CallBudget:
    """Return the process-wide budget for one account, creating it on first use.

    Hooks in the same process that use the same account share the returned object's state, so
    threads of one task and tasks of one process never each believe they own the budget. Two
    connections to one account that state different limits or caps share one state (the log,
    the learned limit, the day's count), each read against its own figures.

    :param backend: where the state lives (:func:`parse_backend`).
    :param account_key: a hash naming the account (never the key itself).
    :param limit: the connection's limit and margin.
    :param daily_cap: the most calls per UTC day, or None.
    """
    with _BUDGETS_LOCK:
        shared = _BUDGETS.get((backend, account_key))
        if shared is None:
            shared = _BUDGETS[(backend, account_key)] = _make_budget(backend, account_key, limit, daily_cap)
    if shared.limit == limit and shared.daily_cap == daily_cap:
        return shared
    # A shallow copy holds the same state, lock and connection as the shared budget.
    budget = copy.copy(shared)
    budget.limit, budget.daily_cap = limit, daily_cap
    return budget


def _make_budget(backend: Backend, account_key: str, limit: Limit, daily_cap: int | None) -> CallBudget:
    if backend.kind == "memory":
        return MemoryBudget(limit, daily_cap)
    if backend.kind == "file":
        folder = backend.location or default_folder()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        return FileBudget(limit, os.path.join(folder, f"leadact-budget-{account_key}.json"), daily_cap)
    return RedisBudget(limit, backend.location or "", f"leadact:budget:{account_key}", daily_cap)
