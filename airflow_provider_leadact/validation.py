"""Validation of user input, done before any API call, and the typed values it gives.

Every value a user hands the provider (an operator argument, a parameter of a hook's public
method) is checked here, once, where it enters, and becomes a typed value that inner code
takes as it is: :class:`LeadIds`, :class:`EventCode`, :class:`Window` and :class:`FetchPlan`
(the leads to fetch, each with its floor).

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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.times import parse_api_time

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


class EventCode(int):
    """An activity event code (e.g. 201), already checked.

    Only :func:`validate_activity_event` makes one from user input; it is an ``int`` in every
    other respect (in a request body, a log line, XCom).
    """


def validate_activity_event(activity_event: Any) -> EventCode | None:
    """Return the activity event code, or None for every activity type.

    Strings of digits are accepted because UI ``Param`` values and templates render to strings.
    An :class:`EventCode` is returned as it is.

    :raises LeadSquaredConfigError: when the value is not an integer.
    """
    if isinstance(activity_event, EventCode):
        return activity_event
    if activity_event is None or activity_event == "":
        return None
    if isinstance(activity_event, bool):
        raise LeadSquaredConfigError(f"activity_event must be an integer event code, got {activity_event!r}")
    if isinstance(activity_event, int):
        return EventCode(activity_event)
    if isinstance(activity_event, str) and re.fullmatch(r"\s*-?\d+\s*", activity_event):
        return EventCode(int(activity_event))
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


class FetchPlan(dict[str, "str | None"]):
    """The leads to fetch, checked, in first-seen order, each with its floor (or None).

    A floor is the ``CreatedOn`` of the lead's oldest activity changed in a window (an API
    time, ``YYYY-MM-DD HH:MM:SS``): with that window, paging the lead stops at its first
    activity created before it. None reads the lead to its end. Made from user input by
    :func:`plan_leads` or :func:`parse_fetch_plan`, and from the listing's own plans (see
    :func:`airflow_provider_leadact.listing.plan_of`); a dict, so it is JSON as it is.
    """


def plan_leads(lead_ids: Any, floors: Mapping[Any, Any] | None = None) -> FetchPlan:
    """Check lead ids and their floors into a :class:`FetchPlan`.

    :param lead_ids: lead ids in any shape :func:`normalize_lead_ids` accepts (a
        :class:`FetchPlan` is returned as it is).
    :param floors: each lead's floor by lead id (ids in any case); floors of leads not in
        ``lead_ids`` are ignored; None for no floor.
    :raises LeadSquaredConfigError: for a bad lead id, or a floor that is not an API time.
    """
    if isinstance(lead_ids, FetchPlan):
        return lead_ids
    ids = normalize_lead_ids(lead_ids)
    checked: dict[str, Any] = {}
    for key, floor in (floors or {}).items():
        if floor is not None and parse_api_time(floor) is None:
            raise LeadSquaredConfigError(
                f"lead {key}: floor {floor!r} is not an API time (YYYY-MM-DD HH:MM:SS); pass the mapping "
                "LeadSquaredChangedLeadsOperator returns, or a list of lead ids"
            )
        checked[str(key).strip().lower()] = floor
    return FetchPlan((lead, checked.get(lead)) for lead in ids)


def parse_fetch_plan(value: Any, *, floors: bool) -> FetchPlan:
    """Rendered ``lead_ids`` of an activities operator as a :class:`FetchPlan`.

    Both shapes the lead-listing operators put in XCom are accepted: a mapping
    ``{lead id: floor}`` (what ``LeadSquaredChangedLeadsOperator`` returns per batch; floors
    are API times or None) and a list of lead ids (``LeadSquaredRecentlyModifiedLeadsOperator``),
    besides every shape :func:`parse_lead_ids` reads.

    :param floors: whether a mapping is accepted (the floors only mean something with a window);
        without, a mapping is refused as :func:`normalize_lead_ids` refuses it.
    """
    if isinstance(value, FetchPlan):
        return value
    if floors and isinstance(value, Mapping):
        return plan_leads(list(value), value)
    return plan_leads(parse_lead_ids(value))


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC (naive datetimes, read as UTC).

    Build it with :meth:`of`, which refuses what is not a window before any call.
    """

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: Any, end: Any, names: tuple[str, str] = ("from_date", "to_date")) -> Window:
        """Check and normalise a window from datetimes (naive ones are UTC) or their ISO text.

        :param names: the parameters the bounds came from, for messages.
        :raises LeadSquaredConfigError: for a value that is not a date and time, or a window
            that is empty or reversed.
        """
        lo, hi = _to_utc(start, names[0]), _to_utc(end, names[1])
        if hi <= lo:
            which = "empty" if hi == lo else "reversed"
            raise LeadSquaredConfigError(
                f"the window from {lo.isoformat(sep=' ')} to {hi.isoformat(sep=' ')} (UTC) is {which}: "
                f"{names[1]} must be after {names[0]} "
                "(e.g. {{ data_interval_start }} to {{ data_interval_end }})"
            )
        return cls(lo, hi)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    def chunks(self, size: timedelta) -> list[Window]:
        """Split into consecutive windows of at most ``size``."""
        out, lo = [], self.start
        while lo < self.end:
            hi = min(self.end, lo + size)
            out.append(Window(lo, hi))
            lo = hi
        return out

    def iso(self) -> dict[str, str]:
        """The window as ``{"from_date", "to_date"}`` ISO texts (UTC), e.g. for a mapped task's kwargs."""
        return {"from_date": self.start.isoformat() + "+00:00", "to_date": self.end.isoformat() + "+00:00"}

    def __str__(self) -> str:
        return f"[{self.start.isoformat(sep=' ')}, {self.end.isoformat(sep=' ')})"


def _to_utc(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise LeadSquaredConfigError(
                f"{name} is empty (did its template render to nothing?): pass a date and time such as "
                "'{{ data_interval_start }}' or 2025-01-03T00:00:00+00:00"
            )
        try:
            import pendulum

            parsed: Any = pendulum.parse(text, tz="UTC")
        except (ValueError, TypeError) as err:  # pendulum's ParserError is a ValueError
            raise LeadSquaredConfigError(f"{name} {text!r} is not a date and time: {err}") from None
        if not isinstance(parsed, datetime):
            raise LeadSquaredConfigError(f"{name} {text!r} is not a date and time (e.g. 2025-01-03T00:00:00+00:00)")
        value = parsed
    if not isinstance(value, datetime):
        raise LeadSquaredConfigError(
            f"{name} must be a date and time (e.g. '{{{{ data_interval_start }}}}'), got {value!r}"
        )
    utc = value.astimezone(timezone.utc) if value.tzinfo else value
    # A plain datetime (not pendulum's subclass), so that differences are plain timedeltas.
    return datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


def optional_window(start: Any, end: Any, names: tuple[str, str] = ("changed_from", "changed_to")) -> Window | None:
    """The window of two optional bounds (see :meth:`Window.of`); None when neither is given.

    :raises LeadSquaredConfigError: when only one is given, or they are not a window (empty,
        reversed, not dates, a template rendering to nothing).
    """
    if start is None and end is None:
        return None
    if start is None or end is None:
        missing = names[0] if start is None else names[1]
        raise LeadSquaredConfigError(
            f"{missing} is missing: give both {names[0]} and {names[1]} (e.g. '{{{{ data_interval_start }}}}' "
            "and '{{ data_interval_end }}'), or neither for every activity"
        )
    return Window.of(start, end, names=names)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
