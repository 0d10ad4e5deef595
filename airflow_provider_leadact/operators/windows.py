"""Where windows come from: a long range of history cut into windows, for mapping.

:class:`LeadSquaredWindowsOperator` plans a first load (or any long range) as a list of
windows, each loaded by one mapped task of a listing operator: an idempotent unit that a
failure or a cleared task reloads alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_leadact import lineage
from airflow_provider_leadact.endpoints import DATE_RANGE_PATH
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.listing import CHUNK, utc_now
from airflow_provider_leadact.operators.deferral import DailyCapDeferrable
from airflow_provider_leadact.operators.mapping import windows as fit_windows
from airflow_provider_leadact.validation import Window

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

#: Clocks differ a little: an end this far past our own now is not "in the future".
_CLOCK_SLACK = timedelta(minutes=5)


class LeadSquaredWindowsOperator(DailyCapDeferrable):
    """Return ``[from_date, to_date)`` as windows ``{"from_date", "to_date"}`` for ``.expand_kwargs``.

    With ``skip_empty`` (the default), empty stretches before the range's first change and
    after its last cost nothing: two listing calls find them (on servers whose listing filters
    on ``ModifiedOn``) and the windows run from the first change's day to the last change.
    Without it no call is made.
    Windows are ``window_hours`` long, longer when the range would otherwise need more than
    ``[core] max_map_length`` of them.

    :param from_date: start of the range, included, e.g. ``{{ params.from_date }}``. (templated)
    :param to_date: end of the range, excluded, e.g. ``{{ dag_run.run_after }}``; not in the future. (templated)
    :param window_hours: hours per window (14 days by default, the listing's own longest span).
    :param skip_empty: start at the range's first change (one API call) rather than at ``from_date``.
    :param leadsquared_conn_id: the LeadSquared connection.
    """

    template_fields: Sequence[str] = ("from_date", "to_date")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        from_date: Any,
        to_date: Any,
        window_hours: int = CHUNK.days * 24,
        skip_empty: bool = True,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(window_hours, bool) or not isinstance(window_hours, int) or window_hours < 1:
            raise LeadSquaredConfigError(f"window_hours must be a positive number of hours, got {window_hours!r}")
        self.from_date = from_date
        self.to_date = to_date
        self.window_hours = window_hours
        self.skip_empty = skip_empty
        self.leadsquared_conn_id = leadsquared_conn_id

    def execute(self, context: Context) -> list[dict[str, str]]:
        """Return the windows, oldest first (none when the range holds no change)."""
        window = Window.of(self.from_date, self.to_date)
        now = utc_now()
        if window.end > now + _CLOCK_SLACK:
            raise LeadSquaredConfigError(
                f"to_date {window.end.isoformat(sep=' ')} (UTC) is in the future (now {now:%Y-%m-%d %H:%M} UTC): "
                "pass a time that has passed, e.g. the run's own '{{ dag_run.run_after }}'"
            )
        calls = 0
        if self.skip_empty:
            hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
            try:
                span = self.within_daily_cap(lambda: hook.change_span_of(window), unit=f"planning {window}")
            finally:
                hook.close()
            calls = int(hook.stats.get("calls", 0))
            if span is None:
                self.log.info("Nothing changed in %s: no window to load (%d API calls)", window, calls)
                return []
            self.log.info("%s: changes lie in %s", window, span)
            start = max(window.start, span.start.replace(hour=0, minute=0, second=0, microsecond=0))
            window = Window(start, span.end)
        planned = fit_windows(window, timedelta(hours=self.window_hours))
        self.log.info(
            "%s as %d windows of up to %s (%d API calls)",
            window,
            len(planned),
            max(w.end - w.start for w in planned),
            calls,
        )
        return [w.iso() for w in planned]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the listing read to find where changes lie (nothing without
        ``skip_empty``); the windows go to XCom, no dataset."""
        source = [lineage.read(lineage.source_dataset(self.leadsquared_conn_id, DATE_RANGE_PATH))]
        return lineage.operator_lineage(inputs=source if self.skip_empty else [])
