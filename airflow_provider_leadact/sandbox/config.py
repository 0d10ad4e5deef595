"""Settings of the sandbox: data set, keys, region, paging readings, limits and faults."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_leadact.sandbox.page_readings import OFFSET_MODES, RANGE_FIELDS, RANGE_FILTERS, RECORD_COUNTS

#: Styles of the rate-limit answer: HTTP 429, or HTTP 200 with an MX exception body.
RATE_LIMIT_STYLES: tuple[str, ...] = ("429", "200")
#: Fault kinds that :meth:`Sandbox.inject_faults` accepts.
FAULT_KINDS: tuple[str, ...] = ("500", "503", "drop", "slow", "truncated", "rate_limit")
#: Config fields holding the probability of each random fault, in draw order.
FAULT_PROBABILITIES: dict[str, str] = {
    "500": "fault_500",
    "503": "fault_503",
    "drop": "fault_drop",
    "slow": "fault_slow",
    "truncated": "fault_truncated",
}
#: Fields that shape the data set; changing one at run time regenerates the data.
DATA_FIELDS: frozenset[str] = frozenset({"seed", "leads", "start", "days", "backdated", "dated_ahead"})
#: Fields that cannot change while the server listens.
BIND_FIELDS: frozenset[str] = frozenset({"host", "port"})
_MASK = "***"
# A bare host name or address, without scheme or port: what a Host header names.
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True)
class SandboxConfig:
    """How the sandbox behaves. Every field is validated on creation.

    :param seed: seed of the generated data set.
    :param leads: number of leads in the data set.
    :param start: first day of the data's time window (``YYYY-MM-DD``, UTC).
    :param days: length of the data's time window in days.
    :param backdated: share of activities whose ``CreatedOn`` (the date a user gives it, to the
        minute) lies before the system wrote it (its first ``ModifiedOn``): calls logged late.
    :param dated_ahead: share of activities whose ``CreatedOn`` lies after it.
    :param access_key: the only access key accepted.
    :param secret_key: the only secret key accepted.
    :param host: interface to listen on.
    :param port: port to listen on; 0 picks a free one.
    :param account_host: the host name of the account's region, e.g. ``"localhost"``; API
        calls whose ``Host`` header names another host answer 401, as a call to another
        region's host does, except ``UserByAccessKey.Get``, which answers on any host and
        names ``http://<account_host>:<port>`` in ``LSQCommonServiceURLs``. ``None``: any host.
    :param offset_mode: meaning of ``Paging.Offset``: ``"page0"``, ``"page1"`` or ``"row"``
        (see :func:`~airflow_provider_leadact.sandbox.page_readings.page_of`).
    :param record_count: meaning of ``RecordCount``: ``"total"`` or ``"page"``.
    :param row_cap: largest page served whatever ``RowCount`` asks; ``None`` for no cap.
    :param default_rows: rows served when the request has no paging.
    :param range_record_count: meaning of ``RecordCount`` in the date-range listing
        (``RetrieveRecentlyModified``): ``"total"`` or ``"page"``.
    :param range_max_page_size: largest page the date-range listing serves, whatever
        ``PageSize`` asks (silently, as the per-lead ``row_cap``).
    :param range_filter_on: the timestamp the date-range listing filters on:
        ``"ModifiedOn"`` or ``"CreatedOn"``.
    :param range_include_fields: ``"full"``: listing rows carry every field the per-lead call
        returns (the custom ``mx_`` fields of ``ActivityFields`` only when the request sends
        ``IncludeCustomFields``); ``"partial"``: rows carry only ``Id``, ``EventCode``,
        ``EventName``, ``CreatedOn``, ``ModifiedOn`` and ``RelatedProspectId``.
    :param range_churn: activities the sandbox edits "now" after answering each page of the
        date-range listing, picked from the page just served, so that the ordering moves
        under a client paging by ``PageIndex``; 0 for none.
    :param range_heavy_rows: a date-range query matching more activities than this answers
        HTTP 500 with ``MXDataAccessException`` (the database behind the API timing out),
        however often it is asked; 0 for never.
    :param rate_limit_calls: calls accepted per access key in any ``rate_limit_period``;
        0 disables the limit (``max_in_window`` is still measured).
    :param rate_limit_period: length of the sliding rate-limit window in seconds.
    :param rate_limit_style: ``"429"`` (HTTP 429) or ``"200"`` (HTTP 200 with an MX body);
        the daily call cap is answered the same way.
    :param daily_call_cap: calls accepted per access key in a UTC day; the next ones answer
        ``MXAPIDailyLimitExceededException``. ``None`` for no cap.
    :param latency: seconds added before every API answer that passed the rate limit.
    :param fault_500: probability that an API call answers HTTP 500 (non-MX body).
    :param fault_503: probability that an API call answers HTTP 503 (HTML body).
    :param fault_drop: probability that the connection closes without an answer.
    :param fault_slow: probability that an answer waits ``slow_seconds`` first.
    :param fault_truncated: probability that an answer's JSON body is cut in half.
    :param slow_seconds: delay of the "slow" fault.
    :param fault_seed: seed of the random fault draws.
    """

    seed: int = 7
    leads: int = 60
    start: str = "2025-01-01"
    days: int = 14
    backdated: float = 0.1
    dated_ahead: float = 0.05
    access_key: str = "sandbox-access-key-0001"
    # A published, fake key: the sandbox only ever runs on loopback with generated data.
    secret_key: str = "sandbox-secret-key-0001"  # noqa: S105
    host: str = "127.0.0.1"
    port: int = 0
    account_host: str | None = None
    offset_mode: str = "page0"
    record_count: str = "total"
    row_cap: int | None = 1000
    default_rows: int = 25
    range_record_count: str = "total"
    range_max_page_size: int = 1000
    range_filter_on: str = "ModifiedOn"
    range_include_fields: str = "full"
    range_churn: int = 0
    range_heavy_rows: int = 0
    rate_limit_calls: int = 25
    rate_limit_period: float = 5.0
    rate_limit_style: str = "429"
    daily_call_cap: int | None = None
    latency: float = 0.0
    fault_500: float = 0.0
    fault_503: float = 0.0
    fault_drop: float = 0.0
    fault_slow: float = 0.0
    fault_truncated: float = 0.0
    slow_seconds: float = 30.0
    fault_seed: int = 0

    def __post_init__(self) -> None:
        _check_int(self, "seed")
        _check_int(self, "leads", minimum=0)
        _check_int(self, "days", minimum=1)
        _check_int(self, "port", minimum=0)
        if self.port > 65535:
            raise ValueError(f"port must be at most 65535, got {self.port}")
        _check_int(self, "default_rows", minimum=1)
        _check_int(self, "rate_limit_calls", minimum=0)
        _check_int(self, "fault_seed")
        if self.row_cap is not None:
            _check_int(self, "row_cap", minimum=1)
        _check_int(self, "range_max_page_size", minimum=1)
        _check_int(self, "range_churn", minimum=0)
        _check_int(self, "range_heavy_rows", minimum=0)
        for name in ("backdated", "dated_ahead"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a share between 0 and 1, got {value!r}")
        if self.backdated + self.dated_ahead > 1:
            raise ValueError("backdated and dated_ahead together must not exceed 1")
        if self.daily_call_cap is not None:
            _check_int(self, "daily_call_cap", minimum=0)
        if self.account_host is not None and (
            not isinstance(self.account_host, str) or not _HOST_NAME.fullmatch(self.account_host)
        ):
            raise ValueError(f"account_host must be a host name such as localhost, got {self.account_host!r}")
        try:
            datetime.strptime(self.start, "%Y-%m-%d")
        except (TypeError, ValueError):
            raise ValueError(f"start must be a YYYY-MM-DD date, got {self.start!r}") from None
        for name in ("access_key", "secret_key", "host"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        _check_choice(self, "offset_mode", OFFSET_MODES)
        _check_choice(self, "record_count", RECORD_COUNTS)
        _check_choice(self, "rate_limit_style", RATE_LIMIT_STYLES)
        _check_choice(self, "range_record_count", RECORD_COUNTS)
        _check_choice(self, "range_filter_on", RANGE_FILTERS)
        _check_choice(self, "range_include_fields", RANGE_FIELDS)
        _check_number(self, "rate_limit_period", positive=True)
        _check_number(self, "latency")
        _check_number(self, "slow_seconds")
        total = 0.0
        for name in FAULT_PROBABILITIES.values():
            _check_number(self, name)
            probability = getattr(self, name)
            if probability > 1:
                raise ValueError(f"{name} is a probability between 0 and 1, got {probability}")
            total += probability
        if total > 1 + 1e-9:
            raise ValueError(f"fault probabilities add up to {total:g}, more than 1")

    def replace(self, **changes: Any) -> SandboxConfig:
        """Return a copy with ``changes`` applied and validated.

        :param changes: field names and their new values.
        :raises ValueError: for an unknown field or an invalid value.
        """
        unknown = sorted(set(changes) - {item.name for item in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown sandbox setting(s): {', '.join(unknown)}")
        style = changes.get("rate_limit_style")
        if isinstance(style, int) and not isinstance(style, bool):
            # JSON control requests naturally send the status code as a number.
            changes["rate_limit_style"] = str(style)
        return dataclasses.replace(self, **changes)

    def public_dict(self) -> dict[str, Any]:
        """Return the settings as a dict, with the two keys masked."""
        values = dataclasses.asdict(self)
        for name in ("access_key", "secret_key"):
            values[name] = _MASK
        return values


def _check_int(config: SandboxConfig, name: str, minimum: int | None = None) -> None:
    value = getattr(config, name)
    # bool is an int subclass; True as a row cap or seed is a mistake worth reporting.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def _check_number(config: SandboxConfig, name: str, positive: bool = False) -> None:
    value = getattr(config, name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        limit = "greater than 0" if positive else "at least 0"
        raise ValueError(f"{name} must be {limit}, got {value}")


def _check_choice(config: SandboxConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
