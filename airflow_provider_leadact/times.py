"""API times: LeadSquared's ``YYYY-MM-DD HH:MM:SS`` in UTC, read and written in one place."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

#: How the API writes a time (always UTC, to the second).
API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Forms seen besides the documented one: fractions of a second, an ISO "T".
_TIME_FORMATS = (API_TIME_FORMAT, "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def read_api_time(text: str) -> datetime:
    """Read an API time string in one of the forms the API writes, as a naive UTC datetime.

    The strict reading, for a value that must be a time (a typed column):
    :func:`parse_api_time` is the lenient one.

    :raises ValueError: when the string matches none of the known forms.
    """
    stripped = text.strip()
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(stripped, fmt)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a time in the form YYYY-MM-DD HH:MM:SS")


def parse_api_time(value: Any) -> datetime | None:
    """Read an API time (``YYYY-MM-DD HH:MM:SS``, UTC) as a naive UTC datetime; None if it is not one.

    Lenient, for the values paging and listing compare: a datetime is taken as it is (an aware
    one converted to UTC) and a trailing ``Z`` is allowed.
    """
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if not isinstance(value, str):
        return None
    try:
        return read_api_time(value.strip().removesuffix("Z"))
    except ValueError:
        return None


def api_time(value: datetime) -> str:
    """Format a naive UTC datetime as the API does (to the second)."""
    return value.strftime(API_TIME_FORMAT)
