"""Exceptions raised by the LeadSquared provider.

Every message names what the user can act on (which lead, which setting, what the server
said) and never carries an access or secret key.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException
except ImportError:  # pragma: no cover - Airflow 3.1, whose airflow.sdk.exceptions lacks AirflowFailException
    # The same names from their older home: redefined for the type checker only.
    from airflow.exceptions import AirflowException, AirflowFailException  # type: ignore[no-redef]


class LeadSquaredError(AirflowException):
    """Base class of every error raised by this provider.

    Every subclass pickles with its message and attributes as they are (a task's error travels
    between processes: executors, ``multiprocessing``, a trigger's result), whatever its
    ``__init__`` takes: unpickling restores the instance without calling ``__init__``, whose
    message may depend on the moment it was built.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(cls: type[LeadSquaredError], args: tuple[Any, ...], state: dict[str, Any]) -> LeadSquaredError:
    """Rebuild a pickled error: the same class, arguments (hence message) and attributes."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class LeadSquaredConfigError(LeadSquaredError, AirflowFailException, ValueError):
    """A connection, parameter or input that cannot work; raised before any API call.

    An ``AirflowFailException``: Airflow fails the task without retrying, since a retry would
    meet the same input.
    """


class LeadSquaredAuthError(LeadSquaredError, AirflowFailException):
    """The service refused the keys (HTTP 401): wrong keys or the wrong region host. Not retried."""


class LeadSquaredNotFoundError(LeadSquaredError, AirflowFailException):
    """The service answered 404: the host or base URL does not serve this API. Not retried."""


class LeadSquaredApiError(LeadSquaredError):
    """The service answered with an application error (``MX...Exception``) or a bad request.

    :param exception_type: the ``ExceptionType`` the service sent, if any.
    :param status_code: the HTTP status of the answer.
    """

    def __init__(self, message: str, *, exception_type: str | None = None, status_code: int | None = None):
        super().__init__(message)
        self.exception_type = exception_type
        # AirflowException declares status_code as the HTTPStatus that Airflow's own API answers
        # with; here it is LeadSquared's status, or None, under the name callers already use.
        self.status_code = status_code  # type: ignore[assignment]


class LeadSquaredTransientError(LeadSquaredError):
    """A failure worth retrying: timeouts, dropped connections, 5xx, unreadable bodies."""


class LeadSquaredRateLimited(LeadSquaredTransientError):
    """The account's rate limit answered (HTTP 429 or HTTP 200 with ``MXAPIRateLimitExceededException``)."""


class LeadSquaredPagingError(LeadSquaredError):
    """The server's paging did not converge within the configured bound of pages."""


class LeadSquaredDailyLimitError(LeadSquaredError, AirflowFailException):
    """The account's calls for the day are spent: LeadSquared said so. Not retried: the next
    attempt would meet the same answer until the day resets."""


class LeadSquaredDailyCapReached(LeadSquaredDailyLimitError):
    """The connection's ``daily_call_cap`` would be exceeded by the next call, which is not made.

    :param cap: the cap.
    :param used: calls made today (UTC) by every task sharing the budget.
    :param resets_at: when the UTC day ends.
    """

    def __init__(self, cap: int, used: int, resets_at: datetime):
        left = max(resets_at - datetime.now(timezone.utc), timedelta(0))
        hours, minutes = divmod(int(left.total_seconds()) // 60, 60)
        super().__init__(
            f"daily_call_cap reached: {used} of {cap} calls used today (UTC) by the tasks sharing this "
            f"account's budget; the next call would exceed it and was not made. The day resets at "
            f"{resets_at:%Y-%m-%d %H:%M} UTC (in {hours} h {minutes:02d} min); raise the connection extra "
            "'daily_call_cap' if the plan allows more"
        )
        self.cap = cap
        self.used = used
        self.resets_at = resets_at
