"""The HTTP client of LeadSquared's API: one plain object, no Airflow in it.

It sends a call under the account's budget, classifies the answer, retries faults with
backoff, waits out rate-limit answers, finds the account's host after a 401, records
latencies and removes the keys from every message. The hook (:mod:`.hooks.leadsquared`) is
the Airflow face over it, and :mod:`.endpoints` binds each endpoint to one typed method.

Three levels, named for what they are:

- :meth:`LeadSquaredClient.exchange`: one HTTP request and its answer classified as an
  :class:`~.answers.Answer` (ok, rate limited, retry, fail): a value, never an exception;
- :meth:`LeadSquaredClient.attempt`: one attempt: exchanges until the answer is not a
  rate limit (a rate-limit answer is the budget's business, not a fault);
- :meth:`LeadSquaredClient.call`: a call: attempts until one succeeds, retrying faults with
  exponential backoff and jitter, up to ``max_attempts``, and once more on the account's own
  host when the connection's answered 401. :meth:`LeadSquaredClient.post_json` is the same
  for the usual ``POST`` of a JSON body. Only this level raises the provider's errors.
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
from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt, wait_exponential_jitter

from airflow_provider_leadact import __version__
from airflow_provider_leadact.answers import RATE_LIMIT_EXCEPTION, Answer, Verdict, classify
from airflow_provider_leadact.connection import LeadSquaredSettings, account_key, build_base_url, is_loopback
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredConfigError,
    LeadSquaredError,
    LeadSquaredTransientError,
)
from airflow_provider_leadact.rate_limit import ASSUMED_CALLS, CallBudget, Grant, Limit, get_budget

USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
#: How the rate-limit message states the limit in force: "... the limit of 20 in 5 second(s)".
_STATED_LIMIT = re.compile(r"limit of (\d+) (?:calls )?in (\d+(?:\.\d+)?) ?sec", re.IGNORECASE)
#: Consecutive rate-limit answers to one attempt before the task gives up: far beyond what a
#: shared account produces in steady state, but a bound all the same.
MAX_RATE_LIMIT_ANSWERS = 120

#: Name of the account's API host in the budget's shared state (see :meth:`LeadSquaredClient.call`).
HOST_FACT = "account_host"

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
        #: The API's base URL: the connection's, or the account's host once found or recalled (see :meth:`call`).
        self.base_url = settings.base_url
        self._host_lock = threading.Lock()
        self._host_recalled = False
        self._host_probed = False
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

    @cached_property
    def budget(self) -> CallBudget:
        """The account's call budget, shared by every client with the same keys and connection
        host (every thread and task of this process; every process too, but for ``memory``).

        Keyed on the connection's host, not on the host calls go to: finding the account's
        host after a 401 changes where calls go, never whose budget they draw on.
        """
        settings = self.settings
        return get_budget(
            settings.rate_limit_backend,
            account_key(settings.access_key, settings.base_url),
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

        The account's API host is settled first: the host another task of the account found
        (see :meth:`recall_account_host`), else the connection's. When that host refuses the
        keys (HTTP 401: another region's host), ``UserByAccessKey.Get`` names the account's
        host once for every task of the account (see :meth:`follow_account_host`) and the
        call is made there.

        :param expect: a key the JSON object must have; an answer without it is retried as a
            fault (a truncated or foreign body is never read as "no data").
        :param attempts: attempts instead of the connection's ``max_attempts``.
        :param timeout: seconds per attempt instead of the connection's ``timeout_seconds``.
        :raises LeadSquaredTransientError: when the last attempt failed on a fault.
        :raises LeadSquaredAuthError: HTTP 401.
        :raises LeadSquaredNotFoundError: HTTP 404.
        :raises LeadSquaredApiError: an application error (``MX...Exception``) or another 4xx.
        """
        attempts = attempts or self.settings.max_attempts
        if path != USER_PATH:  # the user endpoint answers on any region's host
            self.recall_account_host()
        sent_to = self.base_url
        answer = self._attempts(method, path, params, body, what, expect, attempts, timeout)
        if isinstance(answer.error, LeadSquaredAuthError) and path != USER_PATH and self.follow_account_host(sent_to):
            answer = self._attempts(method, path, params, body, what, expect, attempts, timeout)
        if answer.verdict is Verdict.RETRY:
            raise LeadSquaredTransientError(f"{what}: failed after {attempts} attempts; last cause: {answer.error}")
        return answer.result()

    def _attempts(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: Any,
        what: str,
        expect: str | None,
        attempts: int,
        timeout: float | None,
    ) -> Answer:
        """Attempts until one is not a fault, or ``attempts`` were; the last answer."""
        settings = self.settings
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(
                multiplier=settings.retry_wait_seconds,
                max=settings.retry_max_wait_seconds,
                jitter=settings.retry_wait_seconds,
            ),
            retry=retry_if_result(lambda answer: answer.verdict is Verdict.RETRY),
            before_sleep=self._before_retry,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )

        def checked() -> Answer:
            answer = self.attempt(method, path, params=params, body=body, what=what, timeout=timeout)
            if answer.verdict is Verdict.OK and expect is not None:
                if not (isinstance(answer.payload, dict) and expect in answer.payload):
                    return Answer(
                        Verdict.RETRY, error=LeadSquaredTransientError(f"{what}: the answer has no {expect!r}")
                    )
            return answer

        answer: Answer = retrying(checked)
        return answer

    def _before_retry(self, retry_state: RetryCallState) -> None:
        self._count("retries")
        answer = retry_state.outcome.result() if retry_state.outcome else None
        self.log.warning(
            "Attempt %d failed (%s); retrying in %.1fs",
            retry_state.attempt_number,
            answer.error if isinstance(answer, Answer) else answer,
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
    ) -> Answer:
        """One attempt: exchanges until an answer is not a rate limit, which is waited out here.

        A rate-limit answer is not a fault: it says the account's window is full, so the
        attempt waits and asks again (at most :data:`MAX_RATE_LIMIT_ANSWERS` times in a row,
        then the answer is a failure).

        :return: the first answer that is not a rate limit (ok, retry or fail).
        """
        period = self.settings.rate_limit_period_seconds
        for answer_number in range(MAX_RATE_LIMIT_ANSWERS + 1):
            answer = self.exchange(method, path, params=params, body=body, what=what, timeout=timeout)
            if answer.verdict is not Verdict.RATE_LIMITED:
                return answer
            self._count("rate_limit_waits")
            if self._learn_from(str(answer.error)):
                # The budget now holds the server's limit and paces the next call itself.
                continue
            if answer_number == MAX_RATE_LIMIT_ANSWERS:
                break
            # The server's window is full; the oldest call leaves it within one period.
            pause = period * random.uniform(0.25, 0.75)
            self.log.info("%s: rate limit answered (%s); waiting %.1fs", what, answer.error, pause)
            time.sleep(pause)
        return Answer(
            Verdict.FAIL,
            error=LeadSquaredApiError(
                f"{what}: the account's rate limit answered {answer_number + 1} times in a row ({answer.error}); "
                "other clients may be using the account, or rate_limit_calls is above the plan's limit",
                exception_type=RATE_LIMIT_EXCEPTION,
            ),
        )

    def exchange(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        what: str,
        timeout: float | None = None,
    ) -> Answer:
        """One HTTP request under the budget, and its answer classified (see :func:`.answers.classify`).

        A request that got no answer (a timeout, a dropped connection) is a fault to retry; a
        certificate that does not verify is never retried, never ignored.

        :raises LeadSquaredDailyCapReached: the budget refused the call (``daily_call_cap``).
        """
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
            message = f"{what}: no answer within {read_timeout:g}s (extra 'timeout_seconds')"
            return Answer(Verdict.RETRY, error=LeadSquaredTransientError(message))
        except requests.exceptions.SSLError as exc:
            reason = re.search(r"certificate verify failed:?[^'\")(]*", str(exc))
            message = (
                f"{what}: the TLS certificate of {base_url} was not accepted "
                f"({reason.group(0).strip() if reason else type(exc).__name__}); check the connection's host"
            )
            return Answer(Verdict.FAIL, error=LeadSquaredError(message))
        except (
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            # Includes a connection dropped before or during the answer.
            message = f"{what}: connection failed ({type(exc).__name__})"
            return Answer(Verdict.RETRY, error=LeadSquaredTransientError(message))
        self._latencies.append(time.monotonic() - started)
        answer = classify(response, what, base_url=base_url, name=self.name, scrub=self.scrub)
        if answer.verdict is not Verdict.RATE_LIMITED:
            self._confirm(budget, grant)  # answered, refused or not, but not by the rate limit: the window held it
        return answer

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

    def recall_account_host(self) -> None:
        """Use the account's API host that another client of the account found, if any.

        Read once per client from the budget's shared state (a dict, a file or Redis: no call),
        so a task of an account whose connection names another region's host does not spend a
        401 and a ``UserByAccessKey.Get`` to find what an earlier task found.
        """
        if self._host_recalled:
            return  # every call asks; the lock is only for the first read
        with self._host_lock:
            if not self._host_recalled:
                self._adopt_recalled_host(self.budget.recall(HOST_FACT))
                # Set last: a thread that sees it set finds base_url settled.
                self._host_recalled = True

    def _adopt_recalled_host(self, recalled: Any) -> None:
        # The shared state is checked like an answer: only a LeadSquared host is followed.
        found = self.followable_host(recalled) if isinstance(recalled, str) else None
        if found is None or found == self.base_url:
            return
        self.log.warning(
            "%s: using %s, the API host that UserByAccessKey.Get named for this account after %s "
            "answered 401. Set the connection's host to %s",
            self.name,
            found,
            self.base_url,
            urlsplit(found).netloc,
        )
        self.base_url = found

    def follow_account_host(self, sent_to: str) -> bool:
        """After a 401 from ``sent_to``, ask ``UserByAccessKey.Get`` (which answers on any
        region's host) for the account's API host, use it for the rest of the run, and share it
        with every client of the account (see :meth:`recall_account_host`).

        Asked at most once per client: threads meeting the 401 meanwhile wait for that answer.

        :return: True when the call should go again (to a host other than ``sent_to``).
        """
        with self._host_lock:
            if self.base_url != sent_to:
                return True  # another thread found it meanwhile
            if self._host_probed:
                return False
            self._host_probed = True
            user = self.attempt("GET", USER_PATH, what="UserByAccessKey.Get (finding the account's API host)")
            found = self.account_host_of(user.payload) if user.verdict is Verdict.OK else None
            if found is None or found == sent_to:
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
            self.budget.remember(HOST_FACT, found)
            return True

    def account_host_of(self, user: Any) -> str | None:
        """The account's API base URL named by a ``UserByAccessKey.Get`` answer, if acceptable.

        Only a LeadSquared host is followed (or, from a loopback sandbox, a loopback host), so
        a foreign answer can never send the keys elsewhere.
        """
        urls = user.get("LSQCommonServiceURLs") if isinstance(user, dict) else None
        api = urls.get("api") if isinstance(urls, dict) else None
        return self.followable_host(api) if isinstance(api, str) else None

    def followable_host(self, api: str) -> str | None:
        """``api`` (a host or URL) as a base URL, if it is one the keys may be sent to: a
        LeadSquared host, or a loopback host when the connection's is one (a sandbox)."""
        if not api.strip():
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
