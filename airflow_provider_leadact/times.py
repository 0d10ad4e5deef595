"""API times: LeadSquared's ``YYYY-MM-DD HH:MM:SS`` in UTC, read and written in one place."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

#: How the API writes a time (always UTC, to the second).
API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# Forms seen besides the documented one: fractions of a second, an ISO "T".
_TIME_FORMATS = (API_TIME_FORMAT, "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f")


def parse_api_time(value: Any) -> datetime | None:
    """Read an API time (``YYYY-MM-DD HH:MM:SS``, UTC) as a naive UTC datetime; None if it is not one."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if not isinstance(value, str):
        return None
    text = value.strip().removesuffix("Z")
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def api_time(value: datetime) -> str:
    """Format a naive UTC datetime as the API does (to the second)."""
    return value.strftime(API_TIME_FORMAT)
