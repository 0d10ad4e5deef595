"""Where lead ids come from: the leads modified in a time interval, in batches for mapping."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.sdk import BaseOperator

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.sinks.base import validate_batch_size

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Leads per batch by default: one mapped task fetches a few hundred API pages at most.
DEFAULT_LEADS_PER_BATCH = 100


def to_datetime(value: Any, name: str) -> datetime:
    """Read a rendered date (a datetime, or text such as ``2025-01-03T00:00:00+00:00``) as a datetime.

    Text without an offset is taken as UTC, as the API's own times are.

    :raises LeadSquaredConfigError: naming the parameter, when the value is not a date.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = pendulum.parse(value.strip(), tz="UTC")
        except ValueError as err:  # pendulum's ParserError is a ValueError
            raise LeadSquaredConfigError(f"{name} {value!r} is not a date and time: {err}") from err
        if isinstance(parsed, datetime):
            return parsed
    raise LeadSquaredConfigError(
        f"{name} must be a date and time (e.g. '{{{{ data_interval_start }}}}'), got {value!r}"
    )


class LeadSquaredRecentlyModifiedLeadsOperator(BaseOperator):
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
        start = to_datetime(self.from_date, "from_date")
        end = to_datetime(self.to_date, "to_date")
        hook = LeadSquaredHook(leadsquared_conn_id=self.leadsquared_conn_id)
        lead_ids = hook.get_recently_modified_lead_ids(start, end)
        batches = [lead_ids[i : i + self.batch_size] for i in range(0, len(lead_ids), self.batch_size)]
        self.log.info(
            "%d leads modified from %s to %s, in %d batches of up to %d",
            len(lead_ids),
            start.isoformat(),
            end.isoformat(),
            len(batches),
            self.batch_size,
        )
        return batches
