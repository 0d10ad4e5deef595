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
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from airflow_provider_leadact import __version__
from airflow_provider_leadact.connection import LeadSquaredSettings, account_key, build_base_url, is_loopback
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredConfigError,
    LeadSquaredDailyLimitError,
    LeadSquaredError,
    LeadSquaredNotFoundError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)
from airflow_provider_leadact.rate_limit import ASSUMED_CALLS, CallBudget, Grant, Limit, get_budget

USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
RATE_LIMIT_EXCEPTION = "MXAPIRateLimitExceededException"
#: How the rate-limit message states the limit in force: "... the limit of 20 in 5 second(s)".
_STATED_LIMIT = re.compile(r"limit of (\d+) (?:calls )?in (\d+(?:\.\d+)?) ?sec", re.IGNORECASE)
#: An answer saying the day's calls are spent (the body is not documented: read by its words).
_DAILY = re.compile(r"daily|per day|a day\b|today", re.IGNORECASE)
#: Consecutive rate-limit answers to one attempt before the task gives up: far beyond what a
#: shared account produces in steady state, but a bound all the same.
MAX_RATE_LIMIT_ANSWERS = 120

#: The client's counters (see :attr:`LeadSquaredClient.stats`).
STAT_NAMES = ("calls", "rate_limit_waits", "retries", "budget_waits", "budget_wait_seconds", "calls_today")

log = logging.getLogger(__name__)


class TaskLog(Protocol):
    """What the provider logs through: a :class:`logging.Logger`, or the structlog logger that
    ``self.log`` of Airflow's hooks and operators is (``%``-style arguments in both)."""

    def info(self, msg: Any, /, *args: Any) -> object: ...

    def warning(self, msg: Any, /, *args: Any) -> object: ...


class LeadSquaredClient:
    """Calls to LeadSquared's API for one connection's settings.

    Thread-safe: the leads of a task share one client (one pooled session, one budget).

    :param settings: the connection's validated settings.
    :param logger: where retries and rate-limit waits are logged (the task's logger).
    :param name: how messages name the connection (default ``connection '<conn_id>'``).
    """

    def __init__(self, settings: LeadSquaredSettings, logger: TaskLog | None = None, name: str | None = None) -> None:
        self.settings = settings
        self.log: TaskLog = logger or log
        self.name = name or f"connection {settings.conn_id!r}"
        #: The API's base URL: the connection's, or the account's host once found (see :meth:`find_account_host`).
        self.base_url = settings.base_url
        self._host_lock = threading.Lock()
        self._host_checked = False
        self._learned_logged = False
        self._stats_lock = threading.Lock()
        self._stats: dict[str, float] = dict.fromkeys(STAT_NAMES, 0)
        self._latencies: deque[float] = deque(maxlen=50)
        self._in_force: Limit | None = None

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

    @property
    def limit(self) -> Limit:
        """The connection's limit: the plan's as stated, or the common plan's, assumed."""
        settings = self.settings
        return Limit(
            settings.rate_limit_calls or ASSUMED_CALLS,
            settings.rate_limit_period_seconds,
            settings.rate_limit_margin_seconds,
            stated=settings.rate_limit_calls is not None,
        )

    @property
    def budget(self) -> CallBudget:
        """The account's call budget, shared by every client with the same keys and host
        (every thread and task of this process; every process too, but for ``memory``)."""
        settings = self.settings
        return get_budget(
            settings.rate_limit_backend,
            account_key(settings.access_key, self.base_url),
            self.limit,
            settings.daily_call_cap,
        )

    @property
    def stats(self) -> dict[str, float]:
        """Counters: calls, rate_limit_waits, retries, budget_waits, budget_wait_seconds, and
        calls_today (made today, UTC, by every task sharing the budget, as of this client's last call)."""
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
        limit = self._in_force or self.limit
        rate = limit.calls / limit.period_seconds
        latency = max(self._latencies) if self._latencies else 0.0
        return max(1, min(self.settings.max_concurrency, max(limit.calls, math.ceil(rate * latency * 1.5))))

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
            sent_to = self.base_url
            try:
                return self.exchange(method, path, params=params, body=body, what=what, timeout=timeout)
            except LeadSquaredAuthError:
                # Another region's host answers 401; the account's own host may be found.
                if path != USER_PATH and self.find_account_host(sent_to):
                    continue
                raise
            except LeadSquaredRateLimited as exc:
                self._count("rate_limit_waits")
                if self._learn_from(str(exc)):
                    # The budget now holds the server's limit and paces the next call itself.
                    continue
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
        base_url = self.base_url
        url = base_url + path
        read_timeout = timeout or settings.timeout_seconds
        timeouts = (min(10.0, read_timeout), read_timeout)
        budget = self.budget
        grant = budget.acquire()
        if grant.waited:
            self._count("budget_waits")
            self._count("budget_wait_seconds", grant.waited)
        self._note(grant)
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
                f"{what}: the TLS certificate of {base_url} was not accepted "
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
        try:
            payload = self.classify(response, what, base_url)
        except LeadSquaredRateLimited:
            raise
        except LeadSquaredError:
            self._confirm(budget, grant)  # refused, but not by the rate limit: the window held it
            raise
        self._confirm(budget, grant)
        return payload

    def _note(self, grant: Grant) -> None:
        with self._stats_lock:
            self._stats["calls"] += 1
            self._stats["calls_today"] = max(self._stats["calls_today"], grant.calls_today)
            self._in_force = grant.limit

    @staticmethod
    def _confirm(budget: CallBudget, grant: Grant) -> None:
        """The server answered without a rate limit: its window held this call."""
        if not grant.limit.stated and grant.confirmed < grant.limit.calls:
            budget.confirm(grant.position + 1)

    def _learn_from(self, message: str) -> bool:
        """Lower the shared budget to the limit a rate-limit answer states; True if it did."""
        match = _STATED_LIMIT.search(message)
        if not match:
            return False
        calls, period = int(match.group(1)), float(match.group(2))
        if calls < 1 or period <= 0:
            return False
        limit = self._in_force or self.limit
        if not limit.is_looser_than(calls, period):
            return False
        lowered = self.budget.learn(calls, period)
        with self._stats_lock:
            self._in_force = limit.lowered_to(calls, period)
            first, self._learned_logged = not self._learned_logged, True
        if first:
            self.log.warning(
                "LeadSquared says the account's limit is %d calls in %g s, below the %d in %g s this %s "
                "assumed: every task sharing the budget now keeps to %d in %g s%s. Set the connection extra "
                "'rate_limit_calls' to %d (and 'rate_limit_period_seconds' to %g) to start there",
                calls,
                period,
                limit.calls,
                limit.period_seconds,
                self.name,
                calls,
                period,
                "" if lowered else " (another task had learned it already)",
                calls,
                period,
            )
        return True

    def find_account_host(self, sent_to: str) -> bool:
        """After a 401 from ``sent_to``, ask ``UserByAccessKey.Get`` (which answers on any
        region's host) for the account's API host, and use it for the rest of the run.

        :return: True when the calls should go again (to a host other than ``sent_to``).
        """
        with self._host_lock:
            if self.base_url != sent_to:
                return True  # another thread found it meanwhile
            if self._host_checked:
                return False
            self._host_checked = True
            try:
                user = self.attempt("GET", USER_PATH, what="UserByAccessKey.Get (finding the account's API host)")
            except LeadSquaredError:
                return False
            found = self.account_host_of(user)
            if found is None or found == self.base_url:
                return False
            self.log.warning(
                "%s: %s answered 401 but UserByAccessKey.Get names %s as this account's API host: using it "
                "for the rest of this run. Set the connection's host to %s",
                self.name,
                sent_to,
                found,
                urlsplit(found).netloc,
            )
            self.base_url = found
            return True

    def account_host_of(self, user: Any) -> str | None:
        """The account's API base URL named by a ``UserByAccessKey.Get`` answer, if acceptable.

        Only a LeadSquared host is followed (or, from a loopback sandbox, a loopback host), so
        a foreign answer can never send the keys elsewhere.
        """
        urls = user.get("LSQCommonServiceURLs") if isinstance(user, dict) else None
        api = urls.get("api") if isinstance(urls, dict) else None
        if not isinstance(api, str) or not api.strip():
            return None
        try:
            found = build_base_url(self.settings.conn_id, api)
        except LeadSquaredConfigError:
            return None
        host, current = urlsplit(found).hostname or "", urlsplit(self.base_url).hostname or ""
        trusted = host == "leadsquared.com" or host.endswith(".leadsquared.com")
        if not (trusted or (is_loopback(host) and is_loopback(current))):
            self.log.warning("%s: UserByAccessKey.Get names %s, not a LeadSquared host: not followed", self.name, api)
            return None
        return found

    def classify(self, response: requests.Response, what: str, base_url: str | None = None) -> Any:
        """Classify an answer: data, a rate limit, a fault worth retrying, or an error to report.

        :param base_url: the host the call went to, for messages.
        """
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        exception_type = payload.get("ExceptionType") if isinstance(payload, dict) else None
        message = self.scrub(str(payload.get("ExceptionMessage") or "")) if isinstance(payload, dict) else ""
        base_url = base_url or self.base_url
        limited = status == 429 or exception_type == RATE_LIMIT_EXCEPTION
        if (limited or "limit" in str(exception_type or "").lower()) and (
            _DAILY.search(message) or "daily" in str(exception_type or "").lower()
        ):
            # A spent daily quota does not pass within a window: waiting it out would stall the task for hours.
            raise LeadSquaredDailyLimitError(
                f"{what}: LeadSquared says the account's calls for the day are spent: "
                f"{message or exception_type or f'HTTP {status}'}. The quota resets with the day; "
                "set the connection extra 'daily_call_cap' below it to leave room for the account's other uses"
            )
        if limited:
            raise LeadSquaredRateLimited(message or f"HTTP {status}")
        if status == 401:
            raise LeadSquaredAuthError(
                f"{what}: LeadSquared refused the keys (HTTP 401{': ' + message if message else ''}). "
                f"Check the Access Key and Secret Key of {self.name}, and that "
                f"its host ({base_url}) is your account's region host"
            )
        if status == 404:
            raise LeadSquaredNotFoundError(
                f"{what}: HTTP 404 from {base_url}: check the host of {self.name} (e.g. api-in21.leadsquared.com)"
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
