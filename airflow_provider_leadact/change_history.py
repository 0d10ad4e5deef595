"""Entries of "Get Activity Change History", read as documented and in the flat shape.

The documented answer nests each entry's activity under ``"Activity"``, names its id
``ProspectActivityId`` and sends codes and numbers as strings::

    {"Activity": {"ProspectActivityId": "54df288a-...", "RelatedProspectId": "93553424-...",
                  "ActivityType": "2", "ActivityEvent": "322", "Score": "2",
                  "CreatedOn": "2018-09-14 10:45:00", "CreatedBy": "c7b539c1-..."}, ...}

The rest of the documented example, where the change's own time and the old and new values
sit, is cut off in every copy there is. Servers also answer a flat entry (``ActivityId``,
``RelatedProspectId``, ``ActivityEvent``, ``CreatedOn``, ``ModifiedOn``, ``ModifiedByName``,
``OldValue``, ``NewValue``), as the sandbox's ``changes_shape="flat"`` reading does.

:func:`read_change_entry` reads both into one :class:`ChangeEntry`. What the listing needs
from an entry (the activity and its lead) must be there: an entry without either is an error
naming the field, never skipped, since skipping it would lose an edit without a trace. The
change's time and values are looked for under the names they plausibly carry, at the top of
the entry and inside ``"Activity"``, and are None when not found: nothing downstream depends
on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.times import parse_api_time

#: The key the documented answer nests each entry's activity under.
ACTIVITY_KEY = "Activity"
#: Names of the changed activity's id: the documented one first, then the flat shape's.
ACTIVITY_ID_FIELDS: tuple[str, ...] = ("ProspectActivityId", "ActivityId", "Id")
#: Names of the activity's lead.
LEAD_FIELDS: tuple[str, ...] = ("RelatedProspectId", "ProspectId", "LeadId")
#: Names of the activity's event code.
EVENT_FIELDS: tuple[str, ...] = ("ActivityEvent", "EventCode")
#: Names the change's own time may carry (not ``CreatedOn``: that is the activity's date).
CHANGED_ON_FIELDS: tuple[str, ...] = (
    "ModifiedOn",
    "ChangedOn",
    "UpdatedOn",
    "ModifiedDate",
    "ChangedDate",
    "UpdatedDate",
    "ChangeDate",
    "ModifiedAt",
    "ChangedAt",
)
#: Names the values before the change may carry.
OLD_VALUE_FIELDS: tuple[str, ...] = ("OldValue", "OldValues", "OldData", "PreviousValue", "PreviousValues")
#: Names the values after the change may carry.
NEW_VALUE_FIELDS: tuple[str, ...] = ("NewValue", "NewValues", "NewData", "CurrentValue", "CurrentValues")
# A top-level "Id" of a nested entry may well be the change's own id, not the activity's.
_TOP_LEVEL_ID_FIELDS = tuple(name for name in ACTIVITY_ID_FIELDS if name != "Id")


@dataclass(frozen=True)
class ChangeEntry:
    """One entry of "Get Activity Change History", whatever shape it came in.

    :ivar activity_id: the changed activity's id, lower-cased (GUIDs compare case-insensitively).
    :ivar lead_id: its lead's id, lower-cased.
    :ivar event_code: the activity's event code; None when the entry has none.
    :ivar changed_on: the change's own time (naive UTC) where the entry has one, else None.
    :ivar created_on: the activity's ``CreatedOn`` (naive UTC), or None.
    :ivar old_values: the values before the change, as sent, where found; else None.
    :ivar new_values: the values after the change, as sent, where found; else None.
    """

    activity_id: str
    lead_id: str
    event_code: int | None
    changed_on: datetime | None
    created_on: datetime | None
    old_values: Any
    new_values: Any


def read_change_entry(entry: Any, *, what: str) -> ChangeEntry:
    """Read one change history entry, in the documented (nested) or the flat shape.

    The nested activity is read first, then the entry's top level. Names are matched
    case-insensitively (the request itself spells ``ActivityID``). Codes sent as strings of
    digits are read as integers.

    :param entry: one item of the answer's ``Activities``.
    :param what: the endpoint and window the entry came from, for messages.
    :raises LeadSquaredApiError: naming ``what`` and the field, when the entry is not an
        object, has no activity id or no lead, or has an event code that is not a number.
    """
    if not isinstance(entry, Mapping):
        raise LeadSquaredApiError(
            f"{what}: an entry is a {type(entry).__name__}, not an object; this answer is not in a shape "
            "this provider reads"
        )
    nested = entry.get(ACTIVITY_KEY)
    inner = _Fields(nested if isinstance(nested, Mapping) else {})
    top = _Fields(entry)

    def required(names: tuple[str, ...], top_names: tuple[str, ...], label: str) -> str:
        value = inner.first(names)
        if value is None:
            value = top.first(top_names)
        if value is None or isinstance(value, (Mapping, list, bool)) or not str(value).strip():
            looked = [f"{ACTIVITY_KEY}.{name}" for name in names] + list(top_names)
            raise LeadSquaredApiError(
                f"{what}: an entry has no {label} (looked for {', '.join(looked)}; the entry has "
                f"{_shape(entry)}); this answer is not in a shape this provider reads, and skipping the "
                "entry would lose an edit"
            )
        return str(value).strip().lower()

    activity_id = required(ACTIVITY_ID_FIELDS, _TOP_LEVEL_ID_FIELDS, "activity id")
    lead_id = required(LEAD_FIELDS, LEAD_FIELDS, "lead")
    event_name, event = next(
        ((name, value) for name in EVENT_FIELDS for value in (inner.get(name), top.get(name)) if value is not None),
        (EVENT_FIELDS[0], None),
    )
    return ChangeEntry(
        activity_id=activity_id,
        lead_id=lead_id,
        event_code=_integer(event, f"{what}: activity {activity_id}: {event_name}"),
        # The change's own time is an attribute of the entry more than of the activity.
        changed_on=_first_time(top, inner, CHANGED_ON_FIELDS),
        created_on=_first_time(inner, top, ("CreatedOn",)),
        old_values=top.first(OLD_VALUE_FIELDS, inner),
        new_values=top.first(NEW_VALUE_FIELDS, inner),
    )


class _Fields:
    """The fields of one object, looked up by name case-insensitively."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self._by_name = {str(name).lower(): value for name, value in fields.items()}

    def get(self, name: str) -> Any:
        return self._by_name.get(name.lower())

    def first(self, names: tuple[str, ...], then: _Fields | None = None) -> Any:
        """The first of ``names`` present and not null here, else in ``then``; None if nowhere."""
        for fields in (self, then) if then is not None else (self,):
            for name in names:
                value = fields.get(name)
                if value is not None:
                    return value
        return None


def _first_time(first: _Fields, then: _Fields, names: tuple[str, ...]) -> datetime | None:
    # A value under a time's name that is not a time is not taken for one: look on.
    for fields in (first, then):
        for name in names:
            moment = parse_api_time(fields.get(name))
            if moment is not None:
                return moment
    return None


def _integer(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise LeadSquaredApiError(f"{where} is {value!r}, not an event code")


def _shape(entry: Mapping[str, Any]) -> str:
    """The entry's field names (never its values), nested ones under ``Activity.``."""
    names = [str(name) for name in entry]
    nested = entry.get(ACTIVITY_KEY)
    if isinstance(nested, Mapping):
        names += [f"{ACTIVITY_KEY}.{name}" for name in nested]
    return "no fields" if not names else "the fields " + ", ".join(sorted(names)[:24])
