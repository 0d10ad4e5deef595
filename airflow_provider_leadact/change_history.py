"""Reading "Get Activity Change History" entries, in the documented shape and the flat one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredApiError


@dataclass(frozen=True)
class ChangeEntry:
    """One change history entry.

    :ivar activity_id: the activity's id, lower-cased.
    :ivar lead_id: its lead's id, lower-cased.
    :ivar created_on: the activity's ``CreatedOn`` where the entry has it.
    :ivar changed_on: the change's own time where the entry has it.
    """

    activity_id: str
    lead_id: str
    created_on: datetime | None = None
    changed_on: datetime | None = None


def read_change_entry(entry: Any, *, what: str) -> ChangeEntry:
    """Read one entry; an API error naming ``what`` and the missing field when it lacks one."""
    from airflow_provider_leadact.listing import parse_api_time

    if not isinstance(entry, dict):
        raise LeadSquaredApiError(f"{what}: an entry is not an object: {str(entry)[:80]}")
    activity = entry.get("Activity")
    nested: dict[str, Any] = activity if isinstance(activity, dict) else {}
    activity_id = nested.get("ProspectActivityId") or entry.get("ActivityId") or entry.get("ProspectActivityId")
    lead = nested.get("RelatedProspectId") or entry.get("RelatedProspectId")
    for name, value in (("ProspectActivityId", activity_id), ("RelatedProspectId", lead)):
        if not isinstance(value, str) or not value.strip():
            raise LeadSquaredApiError(f"{what}: an entry has no {name}: {sorted(entry)[:12]}")
    return ChangeEntry(
        activity_id=str(activity_id).strip().lower(),
        lead_id=str(lead).strip().lower(),
        created_on=parse_api_time(nested.get("CreatedOn") or entry.get("CreatedOn")),
        changed_on=parse_api_time(entry.get("ModifiedOn") or nested.get("ModifiedOn")),
    )
