"""Progress of a long fetch, logged often enough to follow in the task log."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

#: Seconds between two progress lines when leads complete slowly.
DEFAULT_LOG_INTERVAL_SECONDS = 15.0
#: Progress lines per task when leads complete quickly (one every 5 %).
_STEPS = 20


class FetchProgress:
    """Counts leads and activities and logs a line every 5 % of leads or every interval.

    :param total: leads to fetch.
    :param log: the task's logger.
    :param stats: returns the hook's counters (API calls, rate-limit waits, retries).
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
        self._log = log
        self._stats = stats
        self._interval = interval
        self._step = max(1, total // _STEPS)
        self._started = self._last = time.monotonic()

    def lead_done(self, activities: int) -> None:
        """Count one finished lead and its activities; log when a line is due."""
        self.leads += 1
        self.activities += activities
        now = time.monotonic()
        if self.leads == self.total or self.leads % self._step == 0 or now - self._last >= self._interval:
            self._last = now
            self.log_line()

    def log_line(self) -> None:
        """Log where the fetch stands."""
        stats = self._stats()
        self._log.info(
            "Leads %d/%d done, %d activities, %d API calls, %d rate-limit waits, %d retries, %.1f s",
            self.leads,
            self.total,
            self.activities,
            stats.get("calls", 0),
            stats.get("rate_limit_waits", 0),
            stats.get("retries", 0),
            time.monotonic() - self._started,
        )
