"""What an answer of LeadSquared's API means: a value the client's loops act on.

:func:`classify` reads one HTTP answer and returns an :class:`Answer`: data (ok), the
account's rate limit (wait and ask again), a fault that may pass (retry) or an answer another
attempt would meet again (fail now). Nothing is raised here: the client decides what each
verdict costs, and only its outermost level raises the answer's error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import requests

from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredDailyLimitError,
    LeadSquaredError,
    LeadSquaredNotFoundError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)

RATE_LIMIT_EXCEPTION = "MXAPIRateLimitExceededException"
#: An answer saying the day's calls are spent (the body is not documented: read by its words).
_DAILY = re.compile(r"daily|per day|a day\b|today", re.IGNORECASE)


class Verdict(Enum):
    """What the client does with an answer."""

    #: Data: the answer is returned.
    OK = "ok"
    #: The account's window is full: wait and ask again; not a fault, no attempt spent.
    RATE_LIMITED = "rate limited"
    #: A fault that may pass (timeout, dropped connection, 5xx, unreadable body): another attempt.
    RETRY = "retry"
    #: An answer another attempt would meet again (keys, host, bad request): reported at once.
    FAIL = "fail"


@dataclass(frozen=True)
class Answer:
    """A classified answer: its verdict, and its payload (ok) or the error that says why (the rest).

    :param verdict: what to do with it.
    :param payload: the decoded JSON of an ok answer.
    :param error: the error to raise if the answer is the last word; for a rate limit,
        :class:`~airflow_provider_leadact.exceptions.LeadSquaredRateLimited` with the server's message.
    """

    verdict: Verdict
    payload: Any = None
    error: LeadSquaredError | None = None

    def result(self) -> Any:
        """The payload of an ok answer; the error of any other.

        :raises LeadSquaredError: the answer's error.
        """
        if self.verdict is Verdict.OK:
            return self.payload
        raise self.error or LeadSquaredError(f"an answer classified {self.verdict.value} without an error")


def classify(
    response: requests.Response, what: str, *, base_url: str, name: str, scrub: Callable[[str], str]
) -> Answer:
    """Classify an answer: data, a rate limit, a fault worth retrying, or an error to report.

    :param what: what was fetched, for messages.
    :param base_url: the host the call went to, for messages.
    :param name: how messages name the connection.
    :param scrub: removes the keys from text the server sent.
    :return: the verdict, with the payload (ok) or the error that names what to fix.
    """
    status = response.status_code
    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    exception_type = payload.get("ExceptionType") if isinstance(payload, dict) else None
    message = scrub(str(payload.get("ExceptionMessage") or "")) if isinstance(payload, dict) else ""
    limited = status == 429 or exception_type == RATE_LIMIT_EXCEPTION
    if (limited or "limit" in str(exception_type or "").lower()) and (
        _DAILY.search(message) or "daily" in str(exception_type or "").lower()
    ):
        # A spent daily quota does not pass within a window: waiting it out would stall the task for hours.
        return _fail(
            LeadSquaredDailyLimitError(
                f"{what}: LeadSquared says the account's calls for the day are spent: "
                f"{message or exception_type or f'HTTP {status}'}. The quota resets with the day; "
                "set the connection extra 'daily_call_cap' below it to leave room for the account's other uses"
            )
        )
    if limited:
        return Answer(Verdict.RATE_LIMITED, error=LeadSquaredRateLimited(message or f"HTTP {status}"))
    if status == 401:
        return _fail(
            LeadSquaredAuthError(
                f"{what}: LeadSquared refused the keys (HTTP 401{': ' + message if message else ''}). "
                f"Check the Access Key and Secret Key of {name}, and that "
                f"its host ({base_url}) is your account's region host"
            )
        )
    if status == 404:
        return _fail(
            LeadSquaredNotFoundError(
                f"{what}: HTTP 404 from {base_url}: check the host of {name} (e.g. api-in21.leadsquared.com)"
            )
        )
    if exception_type and str(exception_type).startswith("MX"):
        # Application errors: retrying does not help (the rate limit is handled above).
        return _fail(
            LeadSquaredApiError(
                f"{what}: LeadSquared answered {exception_type}: {message or '(no message)'} (HTTP {status})",
                exception_type=str(exception_type),
                status_code=status,
            )
        )
    if status >= 500:
        return Answer(Verdict.RETRY, error=LeadSquaredTransientError(f"{what}: HTTP {status} from LeadSquared"))
    if status >= 400:
        return _fail(
            LeadSquaredApiError(
                f"{what}: HTTP {status} from LeadSquared: {message or scrub(response.text[:200])}",
                status_code=status,
            )
        )
    if payload is None:
        return Answer(Verdict.RETRY, error=LeadSquaredTransientError(f"{what}: the answer (HTTP {status}) is not JSON"))
    if isinstance(payload, dict) and str(payload.get("Status", "")).lower() == "error":
        return _fail(
            LeadSquaredApiError(
                f"{what}: LeadSquared answered an error: {message or '(no message)'}", status_code=status
            )
        )
    return Answer(Verdict.OK, payload)


def _fail(error: LeadSquaredError) -> Answer:
    return Answer(Verdict.FAIL, error=error)
