"""Progress of a long fetch, logged often enough to follow in the task log."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

#: Seconds between two progress lines when leads complete slowly.
DEFAULT_LOG_INTERVAL_SECONDS = 15.0
#: Progress lines per task when leads complete quickly (one every 5 %).
_STEPS = 20


class FetchProgress:
    """Counts leads and activities and logs a line every 5 % of leads or every interval.

    Pass :meth:`page_fetched` to the hook (``on_page``) so that a line also comes at least
    every interval while a long lead is being paged.

    :param total: leads to fetch.
    :param log: the task's logger.
    :param stats: returns the hook's counters (API calls, calls today, rate-limit waits, retries).
    :param interval: seconds after which a line is logged even if 5 % has not passed.
    """

    def __init__(
        self,
        total: int,
        log: logging.Logger,
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
