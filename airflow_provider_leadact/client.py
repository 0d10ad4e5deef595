"""The HTTP client of LeadSquared's API: one plain object, no Airflow in it.

It sends a call under the account's budget, classifies the answer (data, a rate limit, a
fault worth retrying, an error to report), retries faults with backoff, waits out rate-limit
answers, records latencies and removes the keys from every message. The hook
(:mod:`.hooks.leadsquared`) is the Airflow face over it: connection, form, public methods.

Three levels, named for what they are:

- :meth:`LeadSquaredClient.exchange`: one HTTP request and its classified answer;
- :meth:`LeadSquaredClient.attempt`: one attempt: exchanges until the answer is not a
  rate limit (a rate-limit answer is the budget's business, not a fault);
- :meth:`LeadSquaredClient.call`: a call: attempts until one succeeds, retrying faults with
  exponential backoff and jitter, up to ``max_attempts``. :meth:`LeadSquaredClient.post_json`
  is the same for the usual ``POST`` of a JSON body.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
from collections import deque
from functools import cached_property
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from airflow_provider_leadact import __version__
from airflow_provider_leadact.connection import LeadSquaredSettings
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredError,
    LeadSquaredNotFoundError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)
from airflow_provider_leadact.rate_limit import CallBudget, Limit, get_budget

RATE_LIMIT_EXCEPTION = "MXAPIRateLimitExceededException"
#: Consecutive rate-limit answers to one attempt before the task gives up: far beyond what a
#: shared account produces in steady state, but a bound all the same.
MAX_RATE_LIMIT_ANSWERS = 120

#: The client's counters (see :attr:`LeadSquaredClient.stats`).
STAT_NAMES = ("calls", "rate_limit_waits", "retries", "budget_waits", "budget_wait_seconds")

log = logging.getLogger(__name__)


class LeadSquaredClient:
    """Calls to LeadSquared's API for one connection's settings.

    Thread-safe: the leads of a task share one client (one pooled session, one budget).

    :param settings: the connection's validated settings.
    :param logger: where retries and rate-limit waits are logged (the task's logger).
    """

    def __init__(self, settings: LeadSquaredSettings, logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.log = logger or log
        self._stats_lock = threading.Lock()
        self._stats: dict[str, float] = dict.fromkeys(STAT_NAMES, 0)
        self._latencies: deque[float] = deque(maxlen=50)

    # -- parts -----------------------------------------------------------------------------

    @cached_property
    def session(self) -> requests.Session:
        """One pooled session; keys travel in headers, never in the URL."""
        settings = self.settings
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=settings.max_concurrency, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers.update(
            {
                "x-LSQ-AccessKey": settings.access_key,
                "x-LSQ-SecretKey": settings.secret_key,
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": f"airflow-provider-leadact/{__version__}",
            }
        )
        session.verify = True
        return session

    @cached_property
    def budget(self) -> CallBudget:
        """The account's call budget, shared by every client of this process with the same key."""
        settings = self.settings
        limit = Limit(settings.rate_limit_calls, settings.rate_limit_period_seconds, settings.rate_limit_margin_seconds)
        return get_budget(settings.rate_limit_backend, settings.account_key, limit)

    @property
    def stats(self) -> dict[str, float]:
        """Counters: calls, rate_limit_waits, retries, budget_waits, budget_wait_seconds."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str, amount: float = 1) -> None:
        with self._stats_lock:
            self._stats[name] += amount

    def concurrency(self) -> int:
        """How many calls to keep in flight.

        Enough to put the whole burst that an empty window allows in flight at once, and
        enough to keep the budget full at the observed latency: calls per second times the
        seconds a call takes. Capped by the connection extra ``max_concurrency``.
        """
        settings = self.settings
        rate = settings.rate_limit_calls / settings.rate_limit_period_seconds
        latency = max(self._latencies) if self._latencies else 0.0
        return max(1, min(settings.max_concurrency, max(settings.rate_limit_calls, math.ceil(rate * latency * 1.5))))

    def scrub(self, text: str) -> str:
        """Remove the keys from text that came from elsewhere (a server message, an exception)."""
        for secret in (self.settings.access_key, self.settings.secret_key):
            # Like Airflow's masker, not for values under 5 characters: replacing "a" in
            # every word would garble the message and reveal the key all the same.
            if len(secret) >= 5:
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        """Release the session's pooled connections."""
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # -- calls -----------------------------------------------------------------------------

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        what: str,
        params: dict[str, str] | None = None,
        expect: str | None = None,
    ) -> Any:
        """POST a JSON body to an endpoint of the API and return the decoded JSON answer.

        The call runs under the account's budget, waits out rate-limit answers, retries faults
        (timeouts, dropped connections, 5xx, unreadable or truncated bodies) with backoff, and
        maps every other answer to the provider's errors (see :meth:`call`).

        :param path: the endpoint's path under the host, e.g. ``/v2/ProspectActivity.svc/Retrieve``.
        :param body: the JSON body (anything ``json.dumps`` accepts).
        :param what: what is being fetched, for messages and logs (e.g. ``activities of lead X``).
        :param params: query parameters (never keys: they travel in headers).
        :param expect: a key the answer's JSON object must have; an answer without it is
            retried as a fault, never read as "no data".
        :raises LeadSquaredTransientError: when the last attempt failed on a fault.
        :raises LeadSquaredAuthError: HTTP 401.
        :raises LeadSquaredNotFoundError: HTTP 404.
        :raises LeadSquaredApiError: an application error (``MX...Exception``) or another 4xx.
        """
        return self.call("POST", path, params=params, body=body, what=what, expect=expect)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        what: str,
        expect: str | None = None,
        attempts: int | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A call: attempts with bounded exponential backoff and jitter on faults.

        :param expect: a key the JSON object must have; an answer without it is retried as a
            fault (a truncated or foreign body is never read as "no data").
        :param attempts: attempts instead of the connection's ``max_attempts``.
        :param timeout: seconds per attempt instead of the connection's ``timeout_seconds``.
        """
        settings = self.settings
        attempts = attempts or settings.max_attempts
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(
                multiplier=settings.retry_wait_seconds,
                max=settings.retry_max_wait_seconds,
                jitter=settings.retry_wait_seconds,
            ),
            retry=retry_if_exception_type(LeadSquaredTransientError),
            reraise=True,
            before_sleep=self._before_retry,
        )
        try:
            for retry_state in retrying:
                with retry_state:
                    payload = self.attempt(method, path, params=params, body=body, what=what, timeout=timeout)
                    if expect is not None and not (isinstance(payload, dict) and expect in payload):
                        raise LeadSquaredTransientError(f"{what}: the answer has no {expect!r}")
                    return payload
        except LeadSquaredTransientError as exc:
            raise LeadSquaredTransientError(f"{what}: failed after {attempts} attempts; last cause: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _before_retry(self, retry_state: Any) -> None:
        self._count("retries")
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        self.log.warning(
            "Attempt %d failed (%s); retrying in %.1fs",
            retry_state.attempt_number,
            exc,
            retry_state.next_action.sleep if retry_state.next_action else 0.0,
        )

    def attempt(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        what: str,
        timeout: float | None = None,
    ) -> Any:
        """One attempt: exchanges until an answer is not a rate limit, which is waited out here.

        A rate-limit answer is not a fault: it says the account's window is full, so the
        attempt waits and asks again (at most :data:`MAX_RATE_LIMIT_ANSWERS` times in a row).
        """
        period = self.settings.rate_limit_period_seconds
        for answer in range(MAX_RATE_LIMIT_ANSWERS + 1):
            try:
                return self.exchange(method, path, params=params, body=body, what=what, timeout=timeout)
            except LeadSquaredRateLimited as exc:
                self._count("rate_limit_waits")
                if answer == MAX_RATE_LIMIT_ANSWERS:
                    raise LeadSquaredApiError(
                        f"{what}: the account's rate limit answered {answer + 1} times in a row ({exc}); "
                        "other clients may be using the account, or rate_limit_calls is above the plan's limit",
                        exception_type=RATE_LIMIT_EXCEPTION,
                    ) from None
                # The server's window is full; the oldest call leaves it within one period.
                pause = period * random.uniform(0.25, 0.75)
                self.log.info("%s: rate limit answered (%s); waiting %.1fs", what, exc, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        what: str,
        timeout: float | None = None,
    ) -> Any:
        """One HTTP request under the budget, and its answer classified (see :meth:`classify`)."""
        settings = self.settings
        url = settings.base_url + path
        read_timeout = timeout or settings.timeout_seconds
        timeouts = (min(10.0, read_timeout), read_timeout)
        waited = self.budget.acquire()
        if waited:
            self._count("budget_waits")
            self._count("budget_wait_seconds", waited)
        self._count("calls")
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, params=params, data=None if body is None else json.dumps(body), timeout=timeouts
            )
        except requests.Timeout:
            raise LeadSquaredTransientError(
                f"{what}: no answer within {read_timeout:g}s (extra 'timeout_seconds')"
            ) from None
        except requests.exceptions.SSLError as exc:
            # A certificate that does not verify is not a passing fault: never retried, never ignored.
            reason = re.search(r"certificate verify failed:?[^'\")(]*", str(exc))
            raise LeadSquaredError(
                f"{what}: the TLS certificate of {settings.base_url} was not accepted "
                f"({reason.group(0).strip() if reason else type(exc).__name__}); check the connection's host"
            ) from None
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            # Includes a connection dropped before or during the answer.
            raise LeadSquaredTransientError(f"{what}: connection failed ({type(exc).__name__})") from None
        self._latencies.append(time.monotonic() - started)
        return self.classify(response, what)

    def classify(self, response: requests.Response, what: str) -> Any:
        """Classify an answer: data, a rate limit, a fault worth retrying, or an error to report."""
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        exception_type = payload.get("ExceptionType") if isinstance(payload, dict) else None
        message = self.scrub(str(payload.get("ExceptionMessage") or "")) if isinstance(payload, dict) else ""
        base_url, conn_id = self.settings.base_url, self.settings.conn_id
        if status == 429 or exception_type == RATE_LIMIT_EXCEPTION:
            raise LeadSquaredRateLimited(message or f"HTTP {status}")
        if status == 401:
            raise LeadSquaredAuthError(
                f"{what}: LeadSquared refused the keys (HTTP 401{': ' + message if message else ''}). "
                f"Check the Access Key and Secret Key of connection {conn_id!r}, and that "
                f"its host ({base_url}) is your account's region host"
            )
        if status == 404:
            raise LeadSquaredNotFoundError(
                f"{what}: HTTP 404 from {base_url}: check the host of connection "
                f"{conn_id!r} (e.g. api-in21.leadsquared.com)"
            )
        if exception_type and str(exception_type).startswith("MX"):
            # Application errors: retrying does not help (the rate limit is handled above).
            raise LeadSquaredApiError(
                f"{what}: LeadSquared answered {exception_type}: {message or '(no message)'} (HTTP {status})",
                exception_type=str(exception_type),
                status_code=status,
            )
        if status >= 500:
            raise LeadSquaredTransientError(f"{what}: HTTP {status} from LeadSquared")
        if status >= 400:
            raise LeadSquaredApiError(
                f"{what}: HTTP {status} from LeadSquared: {message or self.scrub(response.text[:200])}",
                status_code=status,
            )
        if payload is None:
            raise LeadSquaredTransientError(f"{what}: the answer (HTTP {status}) is not JSON")
        if isinstance(payload, dict) and str(payload.get("Status", "")).lower() == "error":
            raise LeadSquaredApiError(
                f"{what}: LeadSquared answered an error: {message or '(no message)'}", status_code=status
            )
        return payload
