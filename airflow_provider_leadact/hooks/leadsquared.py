"""The LeadSquared hook: the Airflow connection, its form, and the public methods.

Operators never build requests; they ask this hook for activities and get them in the API's
own shape, each exactly once. The hook composes the endpoints (:mod:`..endpoints`) with the
pagers (:mod:`..paging`), the listing (:mod:`..listing`) and the loops of :mod:`..fetching`;
the wire (budget, retries, the account's host) is the client's (:mod:`..client`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from functools import cached_property, partial
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.exceptions import AirflowNotFoundException

from airflow_provider_leadact.activity_types import read_activity_types
from airflow_provider_leadact.airflow_compat import BaseHook, mask_secret
from airflow_provider_leadact.client import STAT_NAMES, LeadSquaredClient
from airflow_provider_leadact.connection import (
    CONN_TYPE,
    LeadSquaredSettings,
    explain_unreadable,
    settings_from_connection,
)
from airflow_provider_leadact.endpoints import LEADS_PAGE_SIZE, LeadSquaredApi
from airflow_provider_leadact.exceptions import LeadSquaredConfigError, LeadSquaredError
from airflow_provider_leadact.extras import EXTRAS
from airflow_provider_leadact.fetching import fetch_concurrently, modified_lead_ids
from airflow_provider_leadact.listing import (
    ChangedActivities,
    ChangedListing,
    FetchChanges,
    FetchOrdered,
    ListingProfile,
    changed_in_lead,
    is_complete_row,
    plan_of,
    span_of_changes,
)
from airflow_provider_leadact.paging import ServerProfile, iter_activity_pages
from airflow_provider_leadact.records import API_FIELDS
from airflow_provider_leadact.validation import (
    EventCode,
    FetchPlan,
    Window,
    plan_leads,
    validate_activity_event,
    validate_lead_id,
)

#: The fields of an activity its record is made of: a listed row lacking one is fetched from its lead.
RECORD_SOURCE_FIELDS: tuple[str, ...] = (*API_FIELDS, "Data", "ActivityFields")
#: ``on_page(lead_id, activities)``: called after each page of a lead.
PageCallback = Callable[[str, int], None]
#: Name of the listing's facts in the account's shared state (see :attr:`LeadSquaredHook.listing_profile`).
LISTING_FACTS = "listing"
#: Attempts per date-range query before its span is split (see :mod:`.listing`, heavy windows).
LISTING_ATTEMPTS = 3
#: Executors whose tasks run on several machines: a budget on one machine does not hold there.
DISTRIBUTED_EXECUTORS = ("Celery", "Kubernetes", "Edge")


class LeadSquaredHook(BaseHook):
    """Talk to LeadSquared's lead activity API through an Airflow connection.

    The connection (type ``leadsquared``) holds the Access Key in ``login``, the Secret Key in
    ``password`` and the API host in ``host``: a region host such as
    ``api-in21.leadsquared.com`` or a full base URL such as ``http://127.0.0.1:8765`` (the
    sandbox). Its optional extras are declared in :data:`~airflow_provider_leadact.extras.EXTRAS`
    (the README's extras table is generated from it). How the server reads ``Paging`` is
    learned from its answers, never configured (see :mod:`.paging`).

    This class is the Airflow face: the connection, the form, the public methods. The wire
    (budget, retries, error mapping, the account's host) is
    :class:`~airflow_provider_leadact.client.LeadSquaredClient`, reachable as :attr:`client`;
    each endpoint is one method of :class:`~airflow_provider_leadact.endpoints.LeadSquaredApi`,
    reachable as :attr:`api`.

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

        widgets: dict[str, Any] = {}
        for extra in EXTRAS:
            if not extra.in_form:
                continue
            kind = IntegerField if extra.kind is int else StringField
            options: dict[str, Any] = {"description": extra.description}
            if BS3TextFieldWidget is not None:
                options["widget"] = BS3TextFieldWidget()
            widgets[extra.name] = kind(lazy_gettext(extra.label), **options)
        return widgets

    # -- set-up ----------------------------------------------------------------------------

    @cached_property
    def settings(self) -> LeadSquaredSettings:
        """The connection's validated settings (read on first use)."""
        try:
            conn = self.get_connection(self.leadsquared_conn_id)
        except AirflowNotFoundException:
            explain_unreadable(self.leadsquared_conn_id)
            raise LeadSquaredConfigError(
                f"connection {self.leadsquared_conn_id!r} is not defined: create it (type LeadSquared) "
                f"under Admin > Connections or set AIRFLOW_CONN_{self.leadsquared_conn_id.upper()}"
            ) from None
        settings = settings_from_connection(conn)
        # Airflow masks the password but not the login, and the Access Key lives in login.
        mask_secret(settings.access_key)
        mask_secret(settings.secret_key)
        executor = _distributed_executor()
        if executor and not settings.rate_limit_backend.cross_machine:
            self.log.warning(
                "Airflow's executor is %s, so tasks may run on several machines, but connection %r shares "
                "its rate-limit budget (rate_limit_backend %s) only within one machine: workers on other "
                "machines would each spend the account's whole limit. Set the extra rate_limit_backend to "
                "redis://<host>:6379/0 (a Redis every worker reaches)",
                executor,
                settings.conn_id,
                settings.rate_limit_backend,
            )
        return settings

    @cached_property
    def client(self) -> LeadSquaredClient:
        """The HTTP client for this connection (created on first use)."""
        return LeadSquaredClient(self.settings, logger=self.log)

    @cached_property
    def api(self) -> LeadSquaredApi:
        """The endpoints, one typed method each, over :attr:`client`."""
        return LeadSquaredApi(self.client)

    @property
    def session(self) -> requests.Session:
        """The client's pooled session (keys in headers, never in the URL)."""
        return self.client.session

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
        if "client" not in self.__dict__:
            # Nothing was called yet; reading the counters must not read the connection.
            return dict.fromkeys(STAT_NAMES, 0)
        return self.client.stats

    def close(self) -> None:
        """Release the session's pooled connections."""
        if "client" in self.__dict__:
            self.client.close()

    # -- API -------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the keys and host through ``UserByAccessKey.Get``.

        The message names the host tested (Airflow tests a form under a temporary connection
        id, which would mean nothing to the user), and the account's own API host when the
        connection's is another.

        :return: ``(True, "Connected to <host> as <user>")`` or ``(False, <what to fix>)``; never a key.
        """
        try:
            settings = self.settings
        except LeadSquaredError as exc:
            return False, self._for_test(str(exc))
        client = LeadSquaredClient(settings, logger=self.log, name="this connection")
        try:
            # Someone is waiting behind the UI's Test button: two short attempts, not a task's patience.
            user = LeadSquaredApi(client).user(attempts=2, timeout=min(10.0, settings.timeout_seconds))
        except LeadSquaredError as exc:
            return False, self._for_test(client.scrub(str(exc)))
        except Exception as exc:
            return False, self._for_test(client.scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            client.close()
        name = " ".join(str(user.get(k) or "") for k in ("FirstName", "LastName")).strip()
        email = user.get("EmailAddress")
        who = f"{name} <{email}>" if email else name or str(user.get("Id", "unknown user"))
        found = client.account_host_of(user)
        if found and found != settings.base_url:
            return True, (
                f"Keys accepted by {settings.base_url} as {who}, but this account's API host is {found}: "
                f"set the host to {urlsplit(found).netloc} (until then a task finds it after a 401)"
            )
        return True, f"Connected to {settings.base_url} as {who}"

    def _for_test(self, message: str) -> str:
        # The UI tests a form under a random temporary id: name "this connection" instead.
        return message.replace(f"connection {self.leadsquared_conn_id!r}", "this connection")

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

    def _lead_activities(
        self, lead_id: str, event: EventCode | None, get_file_url: bool, on_page: PageCallback | None = None
    ) -> Iterator[dict[str, Any]]:
        fetch = partial(self.api.activities_page, lead_id, event=event, get_file_url=get_file_url)
        for page in iter_activity_pages(
            fetch,
            page_size=self.settings.page_size,
            profile=self.profile,
            max_pages=self.settings.max_pages,
            lead_id=lead_id,
        ):
            if on_page is not None:
                on_page(lead_id, len(page))
            yield from page

    def concurrency(self) -> int:
        """How many leads to fetch at once (see :meth:`LeadSquaredClient.concurrency`)."""
        return self.client.concurrency()

    def iter_leads_activities(
        self,
        lead_ids: Iterable[str] | str,
        activity_event: int | None = None,
        get_file_url: bool = False,
        window: Window | None = None,
        floors: Mapping[str, str | None] | None = None,
        *,
        on_page: PageCallback | None = None,
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
        :param on_page: called as ``on_page(lead_id, activities)`` after each page (from the
            fetching threads), e.g. to log progress while a long lead is being paged.
        :raises LeadSquaredConfigError: for a bad lead id, floor or event code, before any call.
        """
        plan = plan_leads(lead_ids, floors)
        event = validate_activity_event(activity_event)
        yield from self.iter_planned_activities(plan, event, get_file_url, window, on_page=on_page)

    def iter_planned_activities(
        self,
        plan: FetchPlan,
        event: EventCode | None = None,
        get_file_url: bool = False,
        window: Window | None = None,
        *,
        on_page: PageCallback | None = None,
    ) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """Fetch planned leads concurrently, yielding ``(lead_id, activities)`` as each completes.

        The one per-lead fetcher: :meth:`iter_leads_activities` (ids from a user) and
        :meth:`iter_listing_activities` (leads the listing planned) both end here, with values
        already checked. Leads run in a bounded pool drawing on the account's budget; a lead
        that fails after its retries stops the iteration with an error naming it (leads already
        yielded stay yielded).

        :param plan: the leads, each with its floor (see
            :func:`~airflow_provider_leadact.validation.plan_leads`).
        :param event: only activities of this event code; None for all.
        :param get_file_url: ask for the URLs of files uploaded to custom objects.
        :param window: only activities whose ``ModifiedOn`` lies in this window; each lead
            stops paging at its floor. None for every activity (floors are not used).
        :param on_page: called as ``on_page(lead_id, activities)`` after each page.
        """
        ids = list(plan)
        self.settings  # noqa: B018 - read the connection (and refuse a bad one) before any thread starts

        def one(lead_id: str) -> list[dict[str, Any]]:
            activities = self._lead_activities(lead_id, event, get_file_url, on_page)
            if window is not None:
                activities = changed_in_lead(activities, window, plan[lead_id])
            return list(activities)

        yield from fetch_concurrently(ids, one, concurrency=self.concurrency, max_workers=self.settings.max_concurrency)

    def get_recently_modified_lead_ids(self, from_date: Any, to_date: Any) -> list[str]:
        """Return the ids of leads modified in ``[from_date, to_date)``, oldest change first.

        :param from_date: start of the interval (a datetime, naive is UTC, or ISO text).
        :param to_date: end of the interval, excluded.
        :raises LeadSquaredConfigError: for a window that is empty, reversed or not dates, before any call.
        """
        return self.recently_modified_lead_ids(Window.of(from_date, to_date))

    def recently_modified_lead_ids(self, window: Window) -> list[str]:
        """Return the ids of leads modified in ``window``, oldest change first.

        Uses ``Leads.RecentlyModified`` (Get Leads by Date Range), paged, under the same budget.
        The API's bounds are inclusive at one-second resolution, so the end is sent as the
        window's end minus one second.
        """
        start, end = window.start, window.end
        what = f"leads modified from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S}"
        # The API's bounds are inclusive at one-second resolution.
        fetch_page = partial(self.api.leads_page, start, end - timedelta(seconds=1), what=what)
        return modified_lead_ids(fetch_page, page_size=LEADS_PAGE_SIZE, max_pages=self.settings.max_pages, what=what)

    # -- what changed in a window ----------------------------------------------------------

    @cached_property
    def listing_profile(self) -> ListingProfile:
        """What is known about the date-range listing (learned, never declared).

        Shared with every task of the account through the budget's state (file or Redis): how
        the server filters, whether ``RecordCount`` is a total, its page cap, the span and page
        size heavy windows allow. A server is probed once, not once per task.
        """
        budget = self.client.budget
        profile = ListingProfile()
        profile.adopt(budget.recall(LISTING_FACTS))
        profile.on_change = lambda learned: budget.remember(LISTING_FACTS, learned.facts())
        return profile

    def _listing_calls(self, window: Window, event: EventCode | None) -> tuple[FetchOrdered, FetchChanges]:
        """The two calls the listing pages with: one page of the date range, one of the change history."""
        # Few attempts: a query the service cannot answer is asked again over a smaller span.
        fetch_range = partial(
            self.api.date_range_page,
            event=event,
            what=f"activities changed in {window}",
            attempts=min(LISTING_ATTEMPTS, self.settings.max_attempts),
        )
        fetch_changes = partial(self.api.change_history_page, event=event, what=f"changes in {window}")
        return fetch_range, fetch_changes

    def changed_listing(self, window: Window, event: EventCode | None, *, complete: bool = True) -> ChangedListing:
        """A :class:`~airflow_provider_leadact.listing.ChangedListing` of ``window`` through this hook's client.

        :param complete: take listed rows that carry every record field as they are; False to
            plan every row's lead for a per-lead fetch.
        """
        fetch_range, fetch_changes = self._listing_calls(window, event)
        settings = self.settings
        return ChangedListing(
            fetch_range,
            fetch_changes,
            window,
            page_size=settings.page_size,
            profile=self.listing_profile,
            max_pages=settings.max_pages,
            complete=(lambda row: is_complete_row(row, RECORD_SOURCE_FIELDS)) if complete else (lambda row: False),
            event=event,
        )

    def list_changed(self, from_date: Any, to_date: Any, activity_event: Any = None) -> ChangedActivities:
        """List the leads with an activity whose ``ModifiedOn`` lies in ``[from_date, to_date)``.

        "Get Activities by Date Range", paged exactly (see :mod:`~airflow_provider_leadact.listing`),
        plus "Get Activity Change History" while the listing has not shown that it filters on
        ``ModifiedOn``; under the same budget, retries and error handling as every call. Rows
        are counted, not kept: the answer holds one plan per lead.

        :param from_date: start, included (a datetime, naive is UTC, or ISO text).
        :param to_date: end, excluded.
        :param activity_event: only activities of this event code; None for all.
        :raises LeadSquaredConfigError: for a window that is empty, reversed or not dates, before any call.
        """
        window = Window.of(from_date, to_date)
        return self.changed_listing(window, validate_activity_event(activity_event), complete=False).plan()

    def get_changed_lead_ids(self, from_date: Any, to_date: Any, activity_event: Any = None) -> dict[str, str | None]:
        """The leads with an activity changed in ``[from_date, to_date)``, each with its floor.

        The floor is the ``CreatedOn`` of the lead's oldest changed activity (None when it is
        not known): pass the mapping to :meth:`iter_leads_activities` with the same window, and
        each lead stops paging as soon as the rest cannot hold a change.
        """
        return self.list_changed(from_date, to_date, activity_event).lead_floors()

    def iter_changed_activities(
        self, from_date: Any, to_date: Any, activity_event: Any = None, *, listing: ChangedListing | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(lead_id, activity)`` for every activity changed in ``[from_date, to_date)``, each once.

        Streamed from the listing, page by page, when its rows carry every field the records
        are made of; the leads of the other rows (and of activities only the change history
        names) are fetched per lead afterwards, within the window and from their floor. Memory
        does not grow with the window. The API's own shape, as for :meth:`get_lead_activities`.

        :param listing: a listing of the same window to read its counters from afterwards
            (see :meth:`changed_listing`); one is made when None.
        :raises LeadSquaredConfigError: for a window or event code that is not one, before any call.
        """
        window = Window.of(from_date, to_date)
        event = validate_activity_event(activity_event)
        yield from self.iter_listing_activities(listing or self.changed_listing(window, event))

    def iter_listing_activities(self, listing: ChangedListing) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield ``(lead_id, activity)`` for every activity of a listing made by :meth:`changed_listing`.

        As :meth:`iter_changed_activities`, for a window and event code already checked.
        """
        yield from listing.rows()
        plans = listing.refetch
        if not plans:
            return
        for lead, activities in self.iter_planned_activities(plan_of(plans), listing.event, window=listing.window):
            for activity in activities:
                if listing.keep(plans[lead], activity):
                    yield lead, activity

    def change_span(self, from_date: Any, to_date: Any) -> Window | None:
        """The part of ``[from_date, to_date)`` from its first change to its last; None when nothing changed.

        Two or three calls, for planning a long range's windows (see
        :func:`~airflow_provider_leadact.listing.span_of_changes`); the whole window when the
        server's listing does not filter on ``ModifiedOn``.
        """
        return self.change_span_of(Window.of(from_date, to_date))

    def change_span_of(self, window: Window) -> Window | None:
        """As :meth:`change_span`, for a window already checked."""
        fetch_range, _ = self._listing_calls(window, None)
        return span_of_changes(fetch_range, window, profile=self.listing_profile, max_pages=self.settings.max_pages)

    # -- activity types --------------------------------------------------------------------

    def get_activity_types(self) -> list[dict[str, Any]]:
        """The account's activity types, each with its custom fields: what event codes and
        ``mx_Custom_n`` fields mean.

        One call to ``ActivityTypes.Get``, then one ``GetActivitySetting`` per custom type,
        under the same budget, retries and error handling as every call (see
        :func:`~airflow_provider_leadact.activity_types.read_activity_types` for the shape).
        A code the catalogue lists without settings is kept without fields, not an error.

        :raises LeadSquaredApiError: an answer that is not what the endpoint returns, naming it.
        """
        return read_activity_types(self.api.activity_types, self.api.activity_fields, self.log)


def _distributed_executor() -> str | None:
    """The configured executor when its tasks may run on several machines, else None."""
    try:
        from airflow.configuration import conf

        configured = str(conf.get("core", "executor", fallback="") or "")
    except Exception:  # a task runner without Airflow's configuration: nothing to tell
        return None
    for name in configured.split(","):
        if any(kind in name.strip().rsplit(".", 1)[-1] for kind in DISTRIBUTED_EXECUTORS):
            return name.strip()
    return None
