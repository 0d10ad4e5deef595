"""The sandbox's ground truth in the shape of the records every sink writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_leadact.records import flatten_activity
from airflow_provider_leadact.sandbox import Sandbox


def flattened_truth(
    sandbox: Sandbox, lead_ids: list[str], activity_event: int | None = None
) -> dict[str, dict[str, Any]]:
    """Every activity of these leads as a flattened record: ``{activity id: record}``.

    :param sandbox: the sandbox holding the truth.
    :param lead_ids: the leads.
    :param activity_event: event code to keep, or ``None`` for all.
    """
    records: dict[str, dict[str, Any]] = {}
    for lead_id in lead_ids:
        for activity in sandbox.truth(lead_id, activity_event):
            assert activity["Id"] not in records
            records[activity["Id"]] = flatten_activity(activity, lead_id)
    return records


def flattened_changed(sandbox: Sandbox, start: datetime | str, end: datetime | str) -> dict[str, dict[str, Any]]:
    """The activities whose ``ModifiedOn`` lies in ``[start, end)``, flattened: a data interval's truth.

    :param sandbox: the sandbox holding the truth.
    :param start: the interval's start (included).
    :param end: the interval's end (excluded).
    """
    return {
        activity["Id"]: flatten_activity(activity, activity["RelatedProspectId"])
        for activity in sandbox.truth_changed(start, end)
    }


def activity_types_truth() -> dict[int, dict[str, Any]]:
    """The sandbox's catalogue as the activity types tables hold it, from its declaration:
    ``{event code: {"event_name", "category", "is_custom", "fields": {schema name: field}}}``,
    each field ``{"display_name", "data_type", "is_mandatory", "options"}`` (a dropdown's
    option values, in order; None for other fields)."""
    from airflow_provider_leadact.sandbox.activity_types import CATALOGUE, CUSTOM

    return {
        spec.code: {
            "event_name": spec.display_name,
            "category": spec.category,
            "is_custom": spec.category == CUSTOM,
            "fields": {
                field.schema_name: {
                    "display_name": field.display_name,
                    "data_type": field.data_type,
                    "is_mandatory": field.mandatory,
                    "options": None if field.options is None else list(field.options),
                }
                for field in spec.fields
            },
        }
        for spec in CATALOGUE
    }
