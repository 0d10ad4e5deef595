"""Where lead ids come from, in batches for mapping: the leads changed in a time interval.

:class:`LeadSquaredChangedLeadsOperator` finds them by their activities (every lead with an
activity changed in the interval); :class:`LeadSquaredRecentlyModifiedLeadsOperator` by the
lead's own last change (``Leads.RecentlyModified``), which lists a lead only in the interval
of its **last** change: fit for "every lead" listings, not for what changed on a past day.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_leadact import lineage
from airflow_provider_leadact.endpoints import DATE_RANGE_PATH, RECENTLY_MODIFIED_PATH
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators.deferral import DailyCapDeferrable
from airflow_provider_leadact.operators.mapping import batches as fit_batches
from airflow_provider_leadact.sinks.base import validate_batch_size
from airflow_provider_leadact.validation import Window, validate_activity_event

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage
    from airflow.sdk import Context

#: Leads per batch by default: one mapped task fetches a few hundred API pages at most.
DEFAULT_LEADS_PER_BATCH = 100


class LeadSquaredRecentlyModifiedLeadsOperator(DailyCapDeferrable):
    """Return the ids of the leads modified in ``[from_date, to_date)``, as batches of ids.

    The batches feed a mapped fetch: ``.partial(...).expand(lead_ids=leads.output)``.
    Keyed on the data interval (never on now()), a rerun or backfill of an interval asks for
    the same leads.

    :param from_date: start of the interval, included (e.g. ``{{ data_interval_start }}``). (templated)
    :param to_date: end of the interval, excluded (e.g. ``{{ data_interval_end }}``). (templated)
    :param batch_size: lead ids per batch (per mapped task downstream).
    :param leadsquared_conn_id: the LeadSquared connection.
    """

    template_fields: Sequence[str] = ("from_date", "to_date")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        from_date: Any,
        to_date: Any,
        batch_size: int = DEFAULT_LEADS_PER_BATCH,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.from_date = from_date
        self.to_date = to_date
        self.batch_size = validate_batch_size(batch_size, unit="lead ids per batch")
        self.leadsquared_conn_id = leadsquared_conn_id

    def execute(self, context: Context) -> list[list[str]]:
        """Return the modified leads' ids in batches of ``batch_size`` (oldest change first)."""
        window = Window.of(self.from_date, self.to_date)
        start, end = window.start, window.end
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        try:
            lead_ids = self.within_daily_cap(
                lambda: hook.recently_modified_lead_ids(window), unit=f"listing the leads modified in {window}"
            )
        finally:
            hook.close()
        batches, size = fit_batches(lead_ids, self.batch_size)
        self.log.info(
            "%d leads modified from %s to %s, in %d batches of up to %d%s",
            len(lead_ids),
            start.isoformat(),
            end.isoformat(),
            len(batches),
            size,
            "" if size == self.batch_size else " (larger than batch_size, to stay within [core] max_map_length)",
        )
        return batches

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the endpoint read (the lead ids go to XCom, no dataset)."""
        return lineage.operator_lineage(
            inputs=[lineage.read(lineage.source_dataset(self.leadsquared_conn_id, RECENTLY_MODIFIED_PATH))]
        )


class LeadSquaredChangedLeadsOperator(DailyCapDeferrable):
    """Return the leads with an activity changed in ``[from_date, to_date)``, in batches for mapping.

    Found with "Get Activities by Date Range" (paged exactly, see
    :mod:`~airflow_provider_leadact.listing`), so a lead changed on Monday and again on Friday
    is listed for both days, and a backfill of a past interval finds that interval's leads.
    Each batch is a mapping ``{lead id: floor}`` (the ``CreatedOn`` of the lead's oldest
    changed activity, or None): feed it to a fetch operator with the same window,
    ``.partial(changed_from=..., changed_to=...).expand(lead_ids=leads.output)``, and each
    lead stops paging once the rest of its history cannot hold a change.

    :param from_date: start of the interval, included (e.g. ``{{ data_interval_start }}``). (templated)
    :param to_date: end of the interval, excluded (e.g. ``{{ data_interval_end }}``). (templated)
    :param activity_event: only activities with this event code; None for all. (templated)
    :param batch_size: leads per batch (per mapped task downstream).
    :param leadsquared_conn_id: the LeadSquared connection.
    """

    template_fields: Sequence[str] = ("from_date", "to_date", "activity_event")
    ui_color = "#e6f0ff"

    def __init__(
        self,
        *,
        from_date: Any,
        to_date: Any,
        activity_event: int | str | None = None,
        batch_size: int = DEFAULT_LEADS_PER_BATCH,
        leadsquared_conn_id: str = LeadSquaredHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.from_date = from_date
        self.to_date = to_date
        self.activity_event = activity_event
        self.batch_size = validate_batch_size(batch_size, unit="leads per batch")
        self.leadsquared_conn_id = leadsquared_conn_id

    def execute(self, context: Context) -> list[dict[str, str | None]]:
        """Return the changed leads as batches of ``{lead id: floor}`` (in the order the listing found them)."""
        window = Window.of(self.from_date, self.to_date)
        event = validate_activity_event(self.activity_event)
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        try:
            changed = self.within_daily_cap(
                lambda: hook.changed_listing(window, event, complete=False).plan(),
                unit=f"listing what changed in {window}",
            )
        finally:
            hook.close()
        floors = changed.lead_floors()
        groups, size = fit_batches(list(floors), self.batch_size)
        batches = [{lead: floors[lead] for lead in group} for group in groups]
        self.log.info(
            "%d activities changed in %s (and %d change history entries), of %d leads, in %d batches of up to %d%s "
            "(%d API calls)",
            changed.activities,
            window,
            changed.named,
            len(floors),
            len(batches),
            size,
            "" if size == self.batch_size else " (larger than batch_size, to stay within [core] max_map_length)",
            hook.stats.get("calls", 0),
        )
        return batches

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """For the OpenLineage provider: the endpoint read (the lead ids go to XCom, no dataset)."""
        return lineage.operator_lineage(
            inputs=[lineage.read(lineage.source_dataset(self.leadsquared_conn_id, DATE_RANGE_PATH))]
        )
