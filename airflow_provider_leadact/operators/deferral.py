"""Work larger than a day's calls: wait for the UTC day to reset, without holding a worker slot.

When a task reaches the connection's ``daily_call_cap`` (or LeadSquared answers that the
account's calls for the day are spent), it does not fail: it defers to the moment the UTC day
resets (Airflow's own ``DateTimeTrigger``, run by the triggerer) and then runs its unit of work
again: a window is listed from its start, a batch of leads fetched again. Units are small (a
daily window of hours, a history window of 14 days, a batch of leads), and every sink is
idempotent, so the cost of a resumed unit is at most its own pages. The cap itself is never
exceeded: the call that would exceed it is not made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_leadact.exceptions import LeadSquaredDailyLimitError

if TYPE_CHECKING:
    from airflow.sdk import Context

T = TypeVar("T")
#: Resume this long after the reset: the clocks of workers, Redis and LeadSquared differ a little.
RESUME_AFTER_RESET = timedelta(seconds=10)


def next_utc_midnight(now: datetime | None = None) -> datetime:
    """The next start of a UTC day after ``now`` (aware)."""
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


class DailyCapDeferrable(BaseOperator):
    """Mixed into the provider's operators: a daily cap defers the task to the day's reset.

    A ``BaseOperator`` itself so that Airflow records its parameters. Subclasses call
    :meth:`within_daily_cap` around their work in ``execute``; Airflow calls
    :meth:`resume_after_reset` when the trigger fires, which runs ``execute`` again.
    """

    def within_daily_cap(
        self, work: Callable[[], T], *, unit: str | Callable[[], str], done: Callable[[], str] | None = None
    ) -> T:
        """Run ``work``; when the day's calls are spent, defer the task until the UTC day resets.

        :param unit: what the task does, for the log (e.g. ``the window [a, b)``), or what says it.
        :param done: says what was done before the cap was met, for the log.
        """
        try:
            return work()
        except LeadSquaredDailyLimitError as exc:
            unit = unit() if callable(unit) else unit
            resets_at = getattr(exc, "resets_at", None) or next_utc_midnight()
            moment = resets_at + RESUME_AFTER_RESET
            deferrals = int(getattr(self, "_deferrals", 0)) + 1
            left = max(moment - datetime.now(timezone.utc), timedelta(0))
            hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
            self.log.warning(
                "%s. Done so far: %s. What remains: %s, run again from its start after the UTC day resets. "
                "Deferring until %s UTC (in %d h %02d min; deferral %d of this task), holding no worker slot "
                "(the deployment's triggerer resumes it)",
                exc,
                done() if done is not None else "nothing kept",
                unit,
                f"{moment:%Y-%m-%d %H:%M}",
                hours,
                minutes,
                deferrals,
            )
            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.defer(
                trigger=DateTimeTrigger(moment=moment),
                method_name="resume_after_reset",
                kwargs={"cursor": {"unit": unit, "deferrals": deferrals, "capped_at": str(exc)[:300]}},
            )
            raise  # pragma: no cover - defer() raises TaskDeferred

    def resume_after_reset(self, context: Context, event: Any = None, cursor: dict[str, Any] | None = None) -> Any:
        """Called by Airflow when the day has reset: run the task's unit again."""
        cursor = cursor or {}
        self._deferrals = int(cursor.get("deferrals", 0))
        self.log.info(
            "The UTC day reset (deferred %d time(s)): running %s again", self._deferrals, cursor.get("unit", "the task")
        )
        return self.execute(context)
