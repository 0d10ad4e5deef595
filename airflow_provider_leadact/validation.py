"""Validation of user input, done before any API call.

Lead ids arrive in many shapes (a list from XCom, nested lists from mapped upstream tasks, a
single id, a comma- or newline-separated string from a UI ``Param``); they are flattened,
checked and de-duplicated here, once, so the hook and operators only ever see clean GUID
strings. The result is a :class:`LeadIds`: whoever receives one (the hook, from an operator)
knows it is already checked and does not check it again.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredConfigError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SPLIT = re.compile(r"[,\s;]+")
#: How many bad ids an error message lists before it summarises the rest.
MAX_LISTED_BAD_IDS = 10
#: Deepest list nesting accepted (mapped tasks of mapped tasks give two or three levels).
MAX_NESTING = 8


def is_guid(value: str) -> bool:
    """Tell whether ``value`` is a GUID such as ``3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf``."""
    return bool(_GUID.match(value))


def validate_lead_id(lead_id: Any) -> str:
    """Return ``lead_id`` stripped and lower-cased, or raise a clear error.

    :param lead_id: one lead id (the lead's ``ProspectID``, a GUID).
    :raises LeadSquaredConfigError: when the id is None, empty or not a GUID.
    """
    if lead_id is None:
        raise LeadSquaredConfigError("lead id is None: pass the lead's ProspectID (a GUID)")
    if not isinstance(lead_id, str):
        raise LeadSquaredConfigError(
            f"lead id {lead_id!r} is a {type(lead_id).__name__}, not a string: pass the lead's ProspectID (a GUID)"
        )
    value = lead_id.strip()
    if not value:
        raise LeadSquaredConfigError("lead id is empty: pass the lead's ProspectID (a GUID)")
    if not is_guid(value):
        raise LeadSquaredConfigError(
            f"lead id {_shorten(value)!r} is not a GUID (expected e.g. 3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf)"
        )
    return value.lower()


def validate_activity_event(activity_event: Any) -> int | None:
    """Return the activity event code as an int, or None for every activity type.

    Strings of digits are accepted because UI ``Param`` values and templates render to strings.

    :raises LeadSquaredConfigError: when the value is not an integer.
    """
    if activity_event is None or activity_event == "":
        return None
    if isinstance(activity_event, bool):
        raise LeadSquaredConfigError(f"activity_event must be an integer event code, got {activity_event!r}")
    if isinstance(activity_event, int):
        return activity_event
    if isinstance(activity_event, str) and re.fullmatch(r"\s*-?\d+\s*", activity_event):
        return int(activity_event)
    raise LeadSquaredConfigError(
        f"activity_event must be an integer event code (e.g. 201), got {_shorten(repr(activity_event))}"
    )


def iter_lead_id_candidates(value: Any, _depth: int = 0) -> Iterator[Any]:
    """Flatten any accepted shape of lead ids into single candidate values (not yet validated).

    Strings are split on commas, semicolons and white space. An empty or blank string inside a
    list is kept as a candidate so that it is reported rather than silently dropped.
    """
    if _depth > MAX_NESTING:
        raise LeadSquaredConfigError(f"lead_ids are nested more than {MAX_NESTING} levels deep")
    if isinstance(value, str):
        if _depth and not value.strip():
            yield value
        yield from (part for part in _SPLIT.split(value) if part)
    elif isinstance(value, dict):
        raise LeadSquaredConfigError(
            "lead_ids got a mapping: pass a list of lead ids (or a comma-separated string), "
            f"not {_shorten(repr(value))}"
        )
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, bytearray)):
        for item in value:
            yield from iter_lead_id_candidates(item, _depth + 1)
    else:
        yield value


class LeadIds(list[str]):
    """Lead ids already flattened, validated, lower-cased and de-duplicated.

    Only :func:`normalize_lead_ids` makes one; passing it to :func:`normalize_lead_ids` again
    (e.g. from an operator to the hook) returns it as it is instead of checking every id twice.
    """


def normalize_lead_ids(value: Any) -> LeadIds:
    """Flatten, validate and de-duplicate lead ids, keeping first-seen order.

    Accepts a list, nested lists (from mapped upstream tasks), a single id, or a comma- or
    newline-separated string. Every id is checked before any is used; memory is bounded by the
    number of distinct valid ids.

    :param value: the lead ids as passed to an operator or the hook.
    :return: the distinct lead ids, lower-cased, in first-seen order (``value`` itself when
        it is already a :class:`LeadIds`).
    :raises LeadSquaredConfigError: listing (up to :data:`MAX_LISTED_BAD_IDS`) the bad ids,
        or when no id is left.
    """
    if isinstance(value, LeadIds):
        return value
    if value is None:
        raise LeadSquaredConfigError(
            "lead_ids is None: pass a list of lead ids, an XComArg of one, or a comma-separated string"
        )
    seen: dict[str, None] = {}
    bad: list[str] = []
    bad_count = 0
    for candidate in iter_lead_id_candidates(value):
        try:
            seen.setdefault(validate_lead_id(candidate), None)
        except LeadSquaredConfigError:
            bad_count += 1
            if len(bad) < MAX_LISTED_BAD_IDS:
                bad.append(_shorten(repr(candidate)))
    if bad_count:
        more = f" and {bad_count - len(bad)} more" if bad_count > len(bad) else ""
        raise LeadSquaredConfigError(
            f"{bad_count} lead id(s) are not valid: {', '.join(bad)}{more}. "
            "Lead ids are ProspectIDs (GUIDs) such as 3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf."
        )
    if not seen:
        raise LeadSquaredConfigError("no lead ids given: pass at least one lead id (a GUID)")
    return LeadIds(seen)


def parse_lead_ids(value: Any) -> LeadIds:
    """Normalise rendered ``lead_ids`` (see :func:`normalize_lead_ids`).

    A template without ``render_template_as_native_obj`` renders a list as its text
    (``['a', 'b']``); such text is read back as the list it shows rather than split on commas.
    """
    if isinstance(value, str) and value.strip()[:1] == "[":
        text = value.strip()
        for parse in (json.loads, ast.literal_eval):
            try:
                value = parse(text)
                break
            except (ValueError, SyntaxError):
                continue
    return normalize_lead_ids(value)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
