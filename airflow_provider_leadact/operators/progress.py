"""Progress of a long fetch, logged often enough to follow in the task log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from airflow_provider_leadact.validation import Window

if TYPE_CHECKING:
    from airflow_provider_leadact.client import TaskLog

#: Seconds between two progress lines when leads complete slowly.
DEFAULT_LOG_INTERVAL_SECONDS = 15.0
#: Progress lines per task when leads complete quickly (one every 5 %).
_STEPS = 20
#: The ticker's line comes a little before the interval is up (at this fraction of it), so
#: no silence reaches the interval.
_TICK_AT = 0.97


class FetchProgress:
    """Counts leads and activities and logs a line every 5 % of leads or every interval.

    Between :meth:`start` and :meth:`close` (or in a ``with`` block) a ticker thread logs a
    line whenever the interval is about to pass without one, so the log shows progress at
    least every interval even while one long lead is being paged or a call waits; pass
    :meth:`page_fetched` to the hook (``on_page``) so those lines count the pages fetched.

    :param total: leads to fetch.
    :param log: the task's logger.
    :param stats: returns the hook's counters (API calls, calls today, rate-limit waits, retries).
    :param interval: seconds after which a line is logged even if 5 % has not passed.
    """

    def __init__(
        self,
        total: int,
        log: TaskLog,
        stats: Callable[[], Mapping[str, float]],
        interval: float = DEFAULT_LOG_INTERVAL_SECONDS,
    ) -> None:
        self.total = total
        self.leads = 0
        self.activities = 0
        #: Activities of pages fetched so far, leads in flight included.
        self.paged = 0
        self._lock = threading.Lock()
        self._log = log
        self._stats = stats
        self._interval = interval
        self._step = max(1, total // _STEPS)
        self._started = self._last = time.monotonic()
        self._stopped = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> FetchProgress:
        """Start the ticker (see the class docstring); returns ``self``."""
        if self._ticker is None:
            self._ticker = threading.Thread(target=self._tick, name="leadact-progress", daemon=True)
            self._ticker.start()
        return self

    def close(self) -> None:
        """Stop the ticker."""
        self._stopped.set()

    def __enter__(self) -> FetchProgress:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tick(self) -> None:
        while True:
            with self._lock:
                wait = self._last + self._interval * _TICK_AT - time.monotonic()
            if self._stopped.wait(max(wait, 0.05)):
                return
            with self._lock:
                now = time.monotonic()
                due = now - self._last >= self._interval * _TICK_AT
                if due:
                    self._last = now
            if due:
                self.log_line()

    def lead_done(self, activities: int) -> None:
        """Count one finished lead and its activities; log when a line is due."""
        with self._lock:
            self.leads += 1
            self.activities += activities
            now = time.monotonic()
            due = self.leads == self.total or self.leads % self._step == 0 or now - self._last >= self._interval
            if due:
                self._last = now
        if due:
            self.log_line()

    def page_fetched(self, lead_id: str, activities: int) -> None:
        """Count one page of a lead (called from the fetching threads); log when the interval passed."""
        with self._lock:
            self.paged += activities
            now = time.monotonic()
            due = now - self._last >= self._interval
            if due:
                self._last = now
        if due:
            self.log_line()

    def log_line(self) -> None:
        """Log where the fetch stands."""
        stats = self._stats()
        self._log.info(
            "Leads %d/%d done, %d activities (%d fetched so far), %d API calls (%d today on the account), "
            "%d rate-limit waits, %d retries, %.1f s",
            self.leads,
            self.total,
            self.activities,
            max(self.paged, self.activities),
            stats.get("calls", 0),
            stats.get("calls_today", 0),
            stats.get("rate_limit_waits", 0),
            stats.get("retries", 0),
            time.monotonic() - self._started,
        )


class WindowProgress(FetchProgress):
    """Progress of a window listed oldest first: how far into the window its rows have reached.

    Logs a line every 5 % of the window's time covered, and at least every interval (the
    ticker of :class:`FetchProgress`). Rows come by ``ModifiedOn`` on servers that filter on
    it; elsewhere the time covered is the listing's own column, and the line says so loosely.

    :param window: the window listed.
    """

    def __init__(
        self,
        window: Window,
        log: TaskLog,
        stats: Callable[[], Mapping[str, float]],
        interval: float = DEFAULT_LOG_INTERVAL_SECONDS,
    ) -> None:
        super().__init__(0, log, stats, interval)
        self.window = window
        self.reached = window.start
        self._next_step = 1

    def __enter__(self) -> WindowProgress:
        self.start()
        return self

    def share(self) -> float:
        """The share of the window's time the rows have reached, 0 to 1."""
        span = (self.window.end - self.window.start).total_seconds()
        return (self.reached - self.window.start).total_seconds() / span if span else 1.0

    def row(self, moment: datetime | None) -> None:
        """Count one activity written, changed at ``moment``; log when a 5 % step is passed."""
        with self._lock:
            self.activities += 1
            if moment is not None and moment > self.reached:
                self.reached = min(moment, self.window.end)
            share = self.share()
            due = share * _STEPS >= self._next_step
            if due:
                self._next_step = int(share * _STEPS) + 1
                self._last = time.monotonic()
        if due:
            self.log_line()

    def log_line(self) -> None:
        """Log where the listing stands."""
        stats = self._stats()
        share = self.share()
        self._log.info(
            "Window %s: %d%% done (rows up to %s), %d activities, %d API calls (%d today on the account), "
            "%d rate-limit waits, %d retries, %.1f s",
            self.window,
            int(share * 100),
            self.reached.isoformat(sep=" "),
            self.activities,
            stats.get("calls", 0),
            stats.get("calls_today", 0),
            stats.get("rate_limit_waits", 0),
            stats.get("retries", 0),
            time.monotonic() - self._started,
        )
