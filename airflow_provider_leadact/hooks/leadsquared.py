"""The LeadSquared hook: authentication, paging, the account's rate limit and retries.

Operators never build requests; they ask this hook for activities and get them in the API's
own shape, each exactly once.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

import requests
from airflow.exceptions import AirflowNotFoundException
from requests.adapters import HTTPAdapter
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from airflow_provider_leadact import __version__
from airflow_provider_leadact.connection import (
    CONN_TYPE,
    LeadSquaredSettings,
    settings_from_connection,
)
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredConfigError,
    LeadSquaredError,
    LeadSquaredNotFoundError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)
from airflow_provider_leadact.listing import (
    RECORD_SOURCE_FIELDS,
    ChangedActivities,
    ListingProfile,
    Window,
    changed_in_lead,
    is_complete_row,
    list_changed,
)
from airflow_provider_leadact.paging import ServerProfile, iter_activity_pages
from airflow_provider_leadact.rate_limit import CallBudget, get_budget
from airflow_provider_leadact.validation import (
    normalize_lead_ids,
    validate_activity_event,
    validate_lead_id,
)

try:
    from airflow.sdk import BaseHook
except ImportError:  # pragma: no cover - Airflow 3.0
    from airflow.sdk.bases.hook import BaseHook  # type: ignore[no-redef]

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older Airflow 3 releases
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

ACTIVITIES_PATH = "/v2/ProspectActivity.svc/Retrieve"
USER_PATH = "/v2/Authentication.svc/UserByAccessKey.Get"
RECENTLY_MODIFIED_PATH = "/v2/LeadManagement.svc/Leads.RecentlyModified"
DATE_RANGE_PATH = "/v2/ProspectActivity.svc/RetrieveRecentlyModified"
CHANGE_HISTORY_PATH = "/v2/ProspectActivity.svc/RetrieveActivityChange"
RATE_LIMIT_EXCEPTION = "MXAPIRateLimitExceededException"
#: Consecutive rate-limit answers to one call before the task gives up: far beyond what a
#: shared account produces in steady state, but a bound all the same.
MAX_RATE_LIMIT_ANSWERS = 120
#: Leads.RecentlyModified returns at most this many leads per call.
LEADS_PAGE_SIZE = 1000
API_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Leads fetched one at a time while the server's RecordCount reading is unknown.
WARM_UP_LEADS = 3


class LeadSquaredHook(BaseHook):
    """Talk to LeadSquared's lead activity API through an Airflow connection.

    The connection (type ``leadsquared``) holds the Access Key in ``login``, the Secret Key in
    ``password`` and the API host in ``host``: a region host such as
    ``api-in21.leadsquared.com`` or a full base URL such as ``http://127.0.0.1:8080`` (the
    sandbox). Optional extras: ``rate_limit_calls`` (25), ``rate_limit_period_seconds`` (5),
    ``rate_limit_backend`` (``memory``, ``file`` or ``redis://...``), ``page_size`` (1000),
    ``timeout_seconds`` (60), ``max_attempts`` (6), ``retry_wait_seconds`` (1),
    ``retry_max_wait_seconds`` (30), ``max_pages`` (10000), ``max_concurrency`` (64). How the
    server reads ``Paging`` is learned from its answers, never configured (see :mod:`.paging`).

    The connection is read on first use, never when the hook is created.

    :param leadsquared_conn_id: the Airflow connection id.
    """

    conn_name_attr = "leadsquared_conn_id"
    default_conn_name = "leadsquared_default"
    conn_type = CONN_TYPE
    hook_name = "LeadSquared"

    def __init__(self, leadsquared_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.leadsquared_conn_id = leadsquared_conn_id
        self._stats_lock = threading.Lock()
        self._stats: dict[str, float] = {
            "calls": 0,
            "rate_limit_waits": 0,
            "retries": 0,
            "budget_waits": 0,
            "budget_wait_seconds": 0.0,
        }
        self._latencies: deque[float] = deque(maxlen=50)

    # -- Airflow UI ------------------------------------------------------------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Relabel the connection form's fields to what LeadSquared calls them."""
        from airflow_provider_leadact.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
            "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
            "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form, for Airflow versions that read them from the hook.

        Airflow 3.2+ reads the same fields from the provider info's ``conn-fields`` instead; when
        the form libraries are not installed there is no form to add to and this returns ``{}``.
        """
        try:
            from wtforms import IntegerField, StringField
        except ImportError:
            return {}
        try:
            from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
            from flask_babel import lazy_gettext
        except ImportError:  # the widget and translation are niceties of the FAB UI
            BS3TextFieldWidget, lazy_gettext = None, str

        from airflow_provider_leadact.get_provider_info import CONN_FIELDS

        widgets: dict[str, Any] = {}
        for name, spec in CONN_FIELDS.items():
            kind = IntegerField if "integer" in spec["schema"]["type"] else StringField
            options: dict[str, Any] = {"description": spec.get("description")}
            if BS3TextFieldWidget is not None:
                options["widget"] = BS3TextFieldWidget()
            widgets[name] = kind(lazy_gettext(spec["label"]), **options)
        return widgets

    # -- set-up ----------------------------------------------------------------------------

    @cached_property
    def settings(self) -> LeadSquaredSettings:
        """The connection's validated settings (read on first use)."""
        try:
            conn = self.get_connection(self.leadsquared_conn_id)
        except AirflowNotFoundException:
            raise LeadSquaredConfigError(
                f"connection {self.leadsquared_conn_id!r} is not defined: create it (type LeadSquared) "
                f"under Admin > Connections or set AIRFLOW_CONN_{self.leadsquared_conn_id.upper()}"
            ) from None
        settings = settings_from_connection(conn)
        # Airflow masks the password but not the login, and the Access Key lives in login.
        mask_secret(settings.access_key)
        mask_secret(settings.secret_key)
        return settings

    @cached_property
    def session(self) -> requests.Session:
        """One pooled session per hook; keys travel in headers, never in the URL."""
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
        """The account's call budget, shared by every hook of this process with the same key."""
        settings = self.settings
        return get_budget(
            settings.rate_limit_backend,
            settings.account_key,
            settings.rate_limit_calls,
            settings.rate_limit_period_seconds + settings.safety_margin_seconds,
        )

    @cached_property
    def profile(self) -> ServerProfile:
        """What this hook has learned about the server's paging.

        Learned, never declared: a wrongly declared reading would skip or stop pages silently,
        while the first answers show the reading for certain.
        """
        return ServerProfile()

    @property
    def stats(self) -> dict[str, float]:
        """Counters of this hook: calls, rate_limit_waits, retries, budget_waits, budget_wait_seconds."""
        with self._stats_lock:
            return dict(self._stats)

    def _count(self, name: str, amount: float = 1) -> None:
        with self._stats_lock:
            self._stats[name] += amount

    def close(self) -> None:
        """Release the session's pooled connections."""
        if "session" in self.__dict__:
            self.session.close()
            del self.__dict__["session"]

    # -- the wire --------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the keys from text that came from elsewhere (a server message, an exception)."""
        settings = self.__dict__.get("settings")
        if settings is not None:
            for secret in (settings.access_key, settings.secret_key):
                # Like Airflow's masker, not for values under 5 characters: replacing "a" in
                # every word would garble the message and reveal the key all the same.
                if len(secret) >= 5:
                    text = text.replace(secret, "***")
        return text

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None,
        body: Any,
        what: str,
        timeout: float | None = None,
    ) -> Any:
        """One call under the budget; rate-limit answers are waited out here, not retried as faults."""
        settings = self.settings
        url = settings.base_url + path
        read_timeout = timeout or settings.timeout_seconds
        timeouts = (min(10.0, read_timeout), read_timeout)
        for answer in range(MAX_RATE_LIMIT_ANSWERS + 1):
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
            try:
                return self._parse(response, what)
            except LeadSquaredRateLimited as exc:
                self._count("rate_limit_waits")
                if answer == MAX_RATE_LIMIT_ANSWERS:
                    raise LeadSquaredApiError(
                        f"{what}: the account's rate limit answered {answer + 1} times in a row ({exc}); "
                        "other clients may be using the account, or rate_limit_calls is above the plan's limit",
                        exception_type=RATE_LIMIT_EXCEPTION,
                    ) from None
                # The server's window is full; the oldest call leaves it within one period.
                pause = settings.rate_limit_period_seconds * random.uniform(0.25, 0.75)
                self.log.info("%s: rate limit answered (%s); waiting %.1fs", what, exc, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _parse(self, response: requests.Response, what: str) -> Any:
        """Classify an answer: data, a rate limit, a fault worth retrying, or an error to report."""
        status = response.status_code
        try:
            payload: Any = response.json()
        except ValueError:
            payload = None
        exception_type = payload.get("ExceptionType") if isinstance(payload, dict) else None
        message = self._scrub(str(payload.get("ExceptionMessage") or "")) if isinstance(payload, dict) else ""
        if status == 429 or exception_type == RATE_LIMIT_EXCEPTION:
            raise LeadSquaredRateLimited(message or f"HTTP {status}")
        if status == 401:
            raise LeadSquaredAuthError(
                f"{what}: LeadSquared refused the keys (HTTP 401{': ' + message if message else ''}). "
                f"Check the Access Key and Secret Key of connection {self.leadsquared_conn_id!r}, and that "
                f"its host ({self.settings.base_url}) is your account's region host"
            )
        if status == 404:
            raise LeadSquaredNotFoundError(
                f"{what}: HTTP 404 from {self.settings.base_url}: check the host of connection "
                f"{self.leadsquared_conn_id!r} (e.g. api-in21.leadsquared.com)"
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
                f"{what}: HTTP {status} from LeadSquared: {message or self._scrub(response.text[:200])}",
                status_code=status,
            )
        if payload is None:
            raise LeadSquaredTransientError(f"{what}: the answer (HTTP {status}) is not JSON")
        if isinstance(payload, dict) and str(payload.get("Status", "")).lower() == "error":
            raise LeadSquaredApiError(
                f"{what}: LeadSquared answered an error: {message or '(no message)'}", status_code=status
            )
        return payload

    def _call(
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
        """A call with bounded exponential backoff and jitter on transient failures.

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
            for attempt in retrying:
                with attempt:
                    payload = self._send(method, path, params=params, body=body, what=what, timeout=timeout)
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

    # -- API -------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the keys and host through ``UserByAccessKey.Get``.

        :return: ``(True, "Connected as <user>")`` or ``(False, <what to fix>)``; never a key.
        """
        try:
            # Someone is waiting behind the UI's Test button: two short attempts, not a task's patience.
            user = self._call(
                "GET",
                USER_PATH,
                what="UserByAccessKey.Get",
                attempts=2,
                timeout=min(10.0, self.settings.timeout_seconds),
            )
        except LeadSquaredError as exc:
            return False, self._scrub(str(exc))
        except Exception as exc:
            return False, self._scrub(f"{type(exc).__name__}: {exc}")
        if not isinstance(user, dict):
            return False, "UserByAccessKey.Get answered something other than a user"
        name = " ".join(str(user.get(k) or "") for k in ("FirstName", "LastName")).strip()
        email = user.get("EmailAddress")
        who = f"{name} <{email}>" if email else name or str(user.get("Id", "unknown user"))
        return True, f"Connected to {self.settings.base_url} as {who}"

    def get_lead_activities(
        self, lead_id: str, activity_event: int | None = None, get_file_url: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Yield every activity of a lead, each exactly once, in the API's own shape (newest first).

        :param lead_id: the lead's ProspectID (a GUID).
        :param activity_event: only activities of this event code; None for all.
        :param get_file_url: ask for the URLs of files uploaded to custom objects.
        :raises LeadSquaredConfigError: for a bad lead id or event code, before any call.
        """
        lead_id = validate_lead_id(lead_id)
        event = validate_activity_event(activity_event)
        return self._lead_activities(lead_id, event, get_file_url)

    def _lead_activities(self, lead_id: str, event: int | None, get_file_url: bool) -> Iterator[dict[str, Any]]:
        params = {"leadId": lead_id}
        if get_file_url:
            params["getFileURL"] = "true"
        what = f"activities of lead {lead_id}"

        def fetch(offset: int, row_count: int) -> tuple[int | None, list[dict[str, Any]]]:
            body: dict[str, Any] = {"Paging": {"Offset": str(offset), "RowCount": str(row_count)}}
            if event is not None:
                body["Parameter"] = {"ActivityEvent": event}
            payload = self._call(
                "POST",
                ACTIVITIES_PATH,
                params=params,
                body=body,
                what=f"{what} (Offset {offset})",
                expect="ProspectActivities",
            )
            rows = payload.get("ProspectActivities")
            if not isinstance(rows, list) or not all(isinstance(r, dict) and "Id" in r for r in rows):
                raise LeadSquaredApiError(f"{what}: ProspectActivities is not a list of activities")
            count = payload.get("RecordCount")
            return (count if isinstance(count, int) and not isinstance(count, bool) else None), rows

        for page in iter_activity_pages(
            fetch,
            page_size=self.settings.page_size,
            profile=self.profile,
            max_pages=self.settings.max_pages,
            lead_id=lead_id,
        ):
            yield from page

    def concurrency(self) -> int:
        """How many leads to fetch at once.

        Enough to put the whole burst that an empty window allows in flight at once, and
        enough to keep the budget full at the observed latency: calls per second times the
        seconds a call takes. Capped by the connection extra ``max_concurrency``.
        """
        settings = self.settings
        rate = settings.rate_limit_calls / settings.rate_limit_period_seconds
        latency = max(self._latencies) if self._latencies else 0.0
        return max(1, min(settings.max_concurrency, max(settings.rate_limit_calls, math.ceil(rate * latency * 1.5))))

    def _target_in_flight(self, started: int) -> int:
        # Until an answer shows whether RecordCount is the lead's total, every lead of a burst
        # would pay a probe call for a single page: the first few leads go one at a time.
        if self.profile.totals is None and started < WARM_UP_LEADS:
            return 1
        return self.concurrency()

    def iter_leads_activities(
        self,
        lead_ids: Iterable[str] | str,
        activity_event: int | None = None,
        get_file_url: bool = False,
        window: Window | None = None,
        floors: Mapping[str, str | None] | None = None,
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Fetch many leads concurrently, yielding ``(lead_id, activities)`` as each completes.

        Every id is validated (and duplicates dropped) before the first call. Leads run in a
        bounded pool drawing on the account's budget; a lead that fails after its retries
        stops the iteration with an error naming it (leads already yielded stay yielded).

        :param lead_ids: lead ids in any shape :func:`normalize_lead_ids` accepts.
        :param activity_event: only activities of this event code; None for all.
        :param get_file_url: ask for the URLs of files uploaded to custom objects.
        :param window: only activities whose ``ModifiedOn`` lies in this window (see
            :meth:`get_changed_lead_ids`); None for every activity.
        :param floors: with a window, each lead's floor from :meth:`get_changed_lead_ids`:
            paging a lead stops at its first activity created before it.
        """
        ids = normalize_lead_ids(lead_ids)
        event = validate_activity_event(activity_event)
        self.settings  # noqa: B018 - read the connection (and refuse a bad one) before any thread starts

        def one(lead_id: str) -> list[dict[str, Any]]:
            activities = self._lead_activities(lead_id, event, get_file_url)
            if window is not None:
                activities = changed_in_lead(activities, window, (floors or {}).get(lead_id))
            return list(activities)

        pending: dict[Future[list[dict[str, Any]]], str] = {}
        position = 0
        pool = ThreadPoolExecutor(max_workers=self.settings.max_concurrency, thread_name_prefix="leadact")
        try:
            while position < len(ids) or pending:
                # Refill up to the current target; it grows if calls turn out slow.
                while position < len(ids) and len(pending) < self._target_in_flight(position):
                    pending[pool.submit(one, ids[position])] = ids[position]
                    position += 1
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    lead_id = pending.pop(future)
                    yield lead_id, future.result()
        finally:
            # On a failure (or when the caller stops early) leads not yet started are dropped
            # at once instead of being fetched for nothing; leads in flight finish their call.
            pool.shutdown(wait=not pending, cancel_futures=True)

    def get_recently_modified_lead_ids(self, from_date: datetime, to_date: datetime) -> list[str]:
        """Return the ids of leads modified in ``[from_date, to_date)``, oldest change first.

        Uses ``Leads.RecentlyModified`` (Get Leads by Date Range), paged, under the same budget.
        The API's bounds are inclusive at one-second resolution, so the end is sent as
        ``to_date`` minus one second.

        :param from_date: start of the interval (naive datetimes are taken as UTC).
        :param to_date: end of the interval, excluded.
        """
        start, end = _as_utc(from_date, "from_date"), _as_utc(to_date, "to_date")
        if end <= start:
            raise LeadSquaredConfigError(f"to_date ({end.isoformat()}) must be after from_date ({start.isoformat()})")
        last = end - timedelta(seconds=1)
        what = f"leads modified from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}"
        ids: dict[str, None] = {}
        for page_index in range(1, self.settings.max_pages + 1):
            body = {
                "Parameter": {"FromDate": start.strftime(API_DATE_FORMAT), "ToDate": last.strftime(API_DATE_FORMAT)},
                "Columns": {"Include_CSV": "ProspectID,ModifiedOn"},
                "Paging": {"PageIndex": page_index, "PageSize": LEADS_PAGE_SIZE},
                "Sorting": {"ColumnName": "ModifiedOn", "Direction": "0"},
            }
            payload = self._call(
                "POST", RECENTLY_MODIFIED_PATH, body=body, what=f"{what} (page {page_index})", expect="Leads"
            )
            leads = payload.get("Leads") or []
            for lead in leads:
                properties = {
                    p.get("Attribute"): p.get("Value") for p in lead.get("LeadPropertyList", []) if isinstance(p, dict)
                }
                lead_id = properties.get("ProspectID")
                if lead_id:
                    ids.setdefault(str(lead_id).lower(), None)
            total = payload.get("RecordCount")
            if not leads or len(leads) < LEADS_PAGE_SIZE or (isinstance(total, int) and len(ids) >= total):
                return list(ids)
        raise LeadSquaredError(f"{what}: still paging after {self.settings.max_pages} pages")

    # -- what changed in a window ----------------------------------------------------------

    @cached_property
    def listing_profile(self) -> ListingProfile:
        """What this hook has learned about the date-range listing (learned, never declared)."""
        return ListingProfile()

    def list_changed(self, from_date: Any, to_date: Any, activity_event: Any = None) -> ChangedActivities:
        """List the activities whose ``ModifiedOn`` lies in ``[from_date, to_date)``, of every lead.

        "Get Activities by Date Range", paged exactly (see :mod:`~airflow_provider_leadact.listing`),
        plus "Get Activity Change History" while the listing has not shown that it filters on
        ``ModifiedOn``; under the same budget, retries and error handling as every call.

        :param from_date: start, included (a datetime, naive is UTC, or ISO text).
        :param to_date: end, excluded.
        :param activity_event: only activities of this event code; None for all.
        :raises LeadSquaredConfigError: for a window that is empty, reversed or not dates, before any call.
        """
        window = Window.of(from_date, to_date)
        event = validate_activity_event(activity_event)
        settings = self.settings
        what = f"activities changed in {window}"

        def fetch_range(lo: str, hi: str, column: str, page_index: int, page_size: int) -> tuple[Any, list[Any]]:
            parameter: dict[str, Any] = {"FromDate": lo, "ToDate": hi, "IncludeCustomFields": 1}
            if event is not None:
                parameter["ActivityEvent"] = event
            body = {
                "Parameter": parameter,
                "Paging": {"PageIndex": page_index, "PageSize": page_size},
                "Sorting": {"ColumnName": column, "Direction": 0},
            }
            payload = self._call(
                "POST",
                DATE_RANGE_PATH,
                body=body,
                what=f"{what} (from {lo} by {column}, page {page_index})",
                expect="ProspectActivities",
            )
            return _count_and_rows(payload, "ProspectActivities", "Id", what)

        def fetch_changes(lo: str, hi: str, page_index: int, page_size: int) -> tuple[Any, list[Any]]:
            parameter: dict[str, Any] = {"FromDate": lo, "ToDate": hi}
            if event is not None:
                parameter["ActivityEvents"] = [event]
            body = {"Parameter": parameter, "Paging": {"PageIndex": page_index, "PageSize": page_size}}
            payload = self._call(
                "POST", CHANGE_HISTORY_PATH, body=body, what=f"changes in {window} (page {page_index})",
                expect="Activities",
            )  # fmt: skip
            return _count_and_rows(payload, "Activities", "ActivityId", what)

        return list_changed(
            fetch_range,
            fetch_changes,
            window,
            page_size=settings.page_size,
            profile=self.listing_profile,
            max_pages=settings.max_pages,
        )

    def get_changed_lead_ids(self, from_date: Any, to_date: Any, activity_event: Any = None) -> dict[str, str | None]:
        """The leads with an activity changed in ``[from_date, to_date)``, each with its floor.

        The floor is the ``CreatedOn`` of the lead's oldest changed activity (None when only
        the change history named it): pass the mapping to :meth:`iter_leads_activities` with the
        same window, and each lead stops paging as soon as the rest cannot hold a change.
        """
        return self.list_changed(from_date, to_date, activity_event).lead_floors()

    def iter_changed_activities(
        self, from_date: Any, to_date: Any, activity_event: Any = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(lead_id, activity)`` for every activity changed in ``[from_date, to_date)``, each once.

        Straight from the listing when its rows carry every field the records are made of;
        the leads of the other rows (and of older activities only the change history named)
        are fetched per lead, within the window. The API's own shape, as for
        :meth:`get_lead_activities`.
        """
        window = Window.of(from_date, to_date)
        changed = self.list_changed(window.start, window.end, activity_event)
        floors = changed.lead_floors()
        direct, refetch = [], {}
        for row in changed.rows.values():
            lead = str(row.get("RelatedProspectId") or "").lower()
            if lead and is_complete_row(row, RECORD_SOURCE_FIELDS):
                direct.append((lead, row))
            else:
                refetch[lead] = floors.get(lead)
        for lead in set(changed.edited_elsewhere.values()):
            refetch[lead.lower()] = None
        yield from ((lead, row) for lead, row in direct if lead not in refetch)
        if refetch:
            for lead, activities in self.iter_leads_activities(
                list(refetch), activity_event=activity_event, window=window, floors=refetch
            ):
                for activity in activities:
                    yield lead, activity


def _count_and_rows(payload: Any, key: str, id_key: str, what: str) -> tuple[int | None, list[dict[str, Any]]]:
    rows = payload.get(key)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and id_key in r for r in rows):
        raise LeadSquaredApiError(f"{what}: {key} is not a list of activities")
    count = payload.get("RecordCount")
    return (count if isinstance(count, int) and not isinstance(count, bool) else None), rows


def _as_utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise LeadSquaredConfigError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
