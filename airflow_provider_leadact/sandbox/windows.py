"""Sliding windows of call arrival times, per access key.

The sandbox uses one set of windows to enforce the limit and another to measure the peak
load a client put on it (``max_in_window``), so that a benchmark can prove a client stayed
within a budget even when the server's own limit is switched off.

A window is half-open: a call at time ``t`` counts at ``now`` while ``now - t < period``.
Enforcing and measuring with the same rule guarantees ``max_in_window <= limit``.
"""

from __future__ import annotations

from collections import deque


class SlidingWindows:
    """Arrival times within the last period, one window per key. Not thread-safe.

    Times must be added in non-decreasing order per key (e.g. ``time.monotonic()`` read
    under the caller's lock).
    """

    def __init__(self) -> None:
        self._arrivals: dict[str, deque[float]] = {}

    def count(self, key: str, now: float, period: float) -> int:
        """Return how many arrivals of ``key`` lie within ``period`` seconds before ``now``.

        :param key: the access key.
        :param now: the current time, on the clock used for :meth:`add`.
        :param period: window length in seconds.
        """
        window = self._arrivals.get(key)
        if window is None:
            return 0
        while window and now - window[0] >= period:
            window.popleft()
        return len(window)

    def add(self, key: str, now: float) -> None:
        """Record an arrival of ``key`` at ``now``.

        :param key: the access key.
        :param now: the arrival time.
        """
        self._arrivals.setdefault(key, deque()).append(now)

    def clear(self) -> None:
        """Forget every arrival."""
        self._arrivals.clear()
