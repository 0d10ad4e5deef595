"""Listing what changed in a window, exactly, whatever the server's reading of the date range.

"Get Activities by Date Range" (``ProspectActivity.svc/RetrieveRecentlyModified``) lists the
activities of every lead in a window, but its documentation leaves open whether ``RecordCount``
is the total or the page's count, how large ``PageSize`` may be (a server may silently return
fewer rows), whether it filters on ``ModifiedOn`` or on ``CreatedOn``, and whether ``ToDate``
is inclusive. Rows also move while a window is paged: an activity edited during the listing
gets a new ``ModifiedOn``. And ``CreatedOn`` (the date a user gave the activity: calls logged
late are backdated, some are dated ahead) and ``ModifiedOn`` (the system's time) come in any
order, so neither bounds the other.

The pager never guesses and never pages by index over a moving ordering:

- **Which timestamp the server filters on is learned first.** A listed row whose ``CreatedOn``
  lies outside the query's bounds proves a ``ModifiedOn`` filter; one whose ``ModifiedOn``
  does proves a ``CreatedOn`` filter. Until then the window's first pages are read by
  ``PageIndex`` over one fixed query; when no row proves the reading, one row whose two times
  differ is looked for in a one-second query at its ``CreatedOn`` (:meth:`_RangePager.probe`):
  found means ``CreatedOn``. What is learned is kept in the account's shared state, so a
  server is probed once, not once per task.
- **Keyset paging on the filtered column.** Rows are asked for oldest first by the column the
  server filters on, and each next query starts (``FromDate``) at the last time seen; only the
  ids of that boundary second are kept to drop the rows served twice. A single second holding
  more than a page is paged by ``PageIndex`` (that second alone), then read again until a pass
  finds nothing new. Memory does not grow with the window.
- **Windows are** ``[start, end)`` **on** ``ModifiedOn``, **decided here.** ``ToDate`` is sent
  rounded up to the second and rows at or after ``end`` are dropped, exact whether the server
  reads ``ToDate`` as inclusive or exclusive. Queries span at most 14 days, as public clients do.
- **Heavy windows.** A query the service cannot answer (5xx, whatever its body, also after
  retries) is asked again over half the span and with a smaller page, down to
  :data:`MIN_SPAN`; the span that worked is kept in the shared state, and doubled again while
  queries come back light.
- **Edits of older activities.** When the server filters on ``CreatedOn`` (or the window
  gave no evidence either way), an activity created outside the window and changed in it is
  not in the listing; "Get Activity Change History" names it, with its lead
  (:func:`iter_change_history`).

Everything here is free of HTTP: the hook passes one-call callbacks.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from airflow_provider_leadact.change_history import ChangeEntry, read_change_entry
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredPagingError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)
from airflow_provider_leadact.page_evidence import PageEvidence, proves_totals
from airflow_provider_leadact.records import ACTIVITY_FIELDS, has_activity_fields
from airflow_provider_leadact.times import api_time, parse_api_time
from airflow_provider_leadact.validation import EventCode, FetchPlan, Window

#: fetch(FromDate, ToDate, sort column, PageIndex, PageSize) -> (RecordCount or None, rows),
#: rows sorted oldest first by the column.
FetchRange = Callable[[str, str, str, int, int], tuple["int | None", list[dict[str, Any]]]]
#: fetch(FromDate, ToDate, PageIndex, PageSize) -> (RecordCount or None, change entries).
FetchChanges = Callable[[str, str, int, int], tuple["int | None", list[dict[str, Any]]]]

MODIFIED_ON = "ModifiedOn"
CREATED_ON = "CreatedOn"
#: Longest span asked for in one query; longer windows are listed in several.
CHUNK = timedelta(days=14)
#: Shortest span a heavy window is split to before the task fails.
MIN_SPAN = timedelta(minutes=15)
#: Smallest page asked for when heavy windows lower the page size.
MIN_PAGE_SIZE = 100
#: Largest page "Get Activity Change History" hands out (documented).
MAX_CHANGES_PAGE_SIZE = 1000
#: A window ending later than this before now may still receive rows edited while it is
#: listed (the server's clock may differ from ours): every id it yields is remembered.
RECENT = timedelta(hours=1)
_ONE_SECOND = timedelta(seconds=1)
log = logging.getLogger(__name__)


def _floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _ceil_second(moment: datetime) -> datetime:
    floor = _floor_second(moment)
    return floor if floor == moment else floor + _ONE_SECOND


def utc_now() -> datetime:
    """The current time, naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class ListingProfile(PageEvidence):
    """What has been learned about one server's date-range listing, shared by the account's listings.

    :param totals: True once ``RecordCount`` proved to be the query's total (it exceeded a
        page's rows); None while unknown.
    :param full_page: the longest page seen: as a server caps every page alike, a page shorter
        than both this and the size asked is the last one of its query.
    :param filter_on: ``ModifiedOn`` or ``CreatedOn`` once an answer proved which timestamp
        the server filters on; None while unknown.
    :param span: the longest span one query may ask for (lowered by heavy windows).
    :param page_size: the largest page to ask for, when heavy windows lowered it; None for
        the connection's.
    """

    filter_on: str | None = None
    span: timedelta = CHUNK
    page_size: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    #: Called with the profile after it learned something worth sharing (see the hook).
    on_change: Callable[[ListingProfile], None] | None = field(default=None, repr=False, compare=False)

    def learn(self, *, filter_on: str | None = None, totals: bool | None = None, page_len: int = 0) -> None:
        """Keep what an answer proved (the first proof of each fact wins) and share it when it is new.

        :raises LeadSquaredPagingError: when the answers prove both filters.
        """
        changed = False
        with self._lock:
            if filter_on is not None and self.filter_on not in (None, filter_on):
                raise LeadSquaredPagingError(
                    f"the date-range listing filtered on {self.filter_on} earlier and on {filter_on} now; "
                    "its answers cannot be paged exactly: run the task again"
                )
            if filter_on is not None and self.filter_on is None:
                self.filter_on, changed = filter_on, True
            if totals is not None and self.totals is None:
                self.totals, changed = totals, True
            if page_len > self.full_page:
                self.full_page, changed = page_len, True
        if changed and self.on_change is not None:
            self.on_change(self)

    def resize(self, span: timedelta, page_size: int | None) -> None:
        """Record the span and page size that work now (shared with later listings)."""
        with self._lock:
            self.span, self.page_size = span, page_size
        if self.on_change is not None:
            self.on_change(self)

    def facts(self) -> dict[str, Any]:
        """What is worth sharing, as JSON-able values."""
        return {
            "filter_on": self.filter_on,
            "totals": self.totals,
            "full_page": self.full_page,
            "span_seconds": int(self.span.total_seconds()),
            "page_size": self.page_size,
        }

    def adopt(self, facts: Mapping[str, Any] | None) -> None:
        """Take what another task learned (see :meth:`facts`); unknown or odd values are ignored."""
        if not isinstance(facts, Mapping):
            return
        with self._lock:
            if facts.get("filter_on") in (MODIFIED_ON, CREATED_ON) and self.filter_on is None:
                self.filter_on = facts["filter_on"]
            if facts.get("totals") is True and self.totals is None:
                self.totals = True
            if isinstance(facts.get("full_page"), int):
                self.full_page = max(self.full_page, facts["full_page"])
            span = facts.get("span_seconds")
            if isinstance(span, int) and MIN_SPAN.total_seconds() <= span <= CHUNK.total_seconds():
                self.span = timedelta(seconds=span)
            if isinstance(facts.get("page_size"), int) and facts["page_size"] >= MIN_PAGE_SIZE:
                self.page_size = facts["page_size"]

    @property
    def sort_column(self) -> str:
        """The column to order and advance by: the one the server filters on (``CreatedOn`` while unknown)."""
        return MODIFIED_ON if self.filter_on == MODIFIED_ON else CREATED_ON


def is_heavy_failure(exc: BaseException) -> bool:
    """Whether a failed listing query may succeed over a smaller window (the service gave up on it).

    A 5xx answer, whatever its body (an ``MX...`` exception with HTTP 500 is the database behind
    the API timing out), or a fault that outlived its retries; never a rate limit, 4xx or 401.
    """
    if isinstance(exc, LeadSquaredRateLimited):
        return False
    if isinstance(exc, LeadSquaredTransientError):
        return True
    return isinstance(exc, LeadSquaredApiError) and (exc.status_code or 0) >= 500


def _ended(
    profile: ListingProfile, page_size: int, record_count: int | None, rows: list[dict[str, Any]], got: int
) -> bool:
    """Whether a query has no rows beyond this page (``got``: its rows fetched so far)."""
    if not rows:
        return True
    if proves_totals(record_count, len(rows)):
        profile.learn(totals=True)
    return profile.is_last_page(record_count, len(rows), got, asked=page_size)


class _RangePager:
    """The state of listing one window: the boundary ids, the calls made, the span in use."""

    def __init__(
        self, fetch: FetchRange, window: Window, page_size: int, profile: ListingProfile, max_pages: int
    ) -> None:
        self.fetch = fetch
        self.window = window
        self.asked_page_size = page_size
        self.profile = profile
        self.max_pages = max_pages
        self.calls = 0
        # Rows edited while a recent window is listed come back with a later ModifiedOn still
        # inside it: remember every id yielded there (a past window's edits leave it instead).
        self.yielded: set[str] | None = set() if window.end > utc_now() - RECENT else None
        #: Ids yielded while the filter was not known yet (a restart skips them).
        self.early: set[str] = set()
        #: Ids yielded whose CreatedOn lies outside the window (see :func:`iter_changed_rows`).
        self.created_outside: set[str] = set()
        self.widened = False

    @property
    def page_size(self) -> int:
        return min(self.asked_page_size, self.profile.page_size or self.asked_page_size)

    # -- one call ---------------------------------------------------------------------------

    def get(self, lo: datetime, hi: datetime, column: str, page_index: int) -> tuple[int | None, list[dict[str, Any]]]:
        """One call; learn what its rows prove; check their order."""
        if self.calls >= self.max_pages:
            raise LeadSquaredPagingError(
                f"activities changed in {self.window}: still paging after {self.max_pages} pages; the listing does "
                "not end (raise the connection extra 'max_pages' if the window really holds more)"
            )
        self.calls += 1
        record_count, rows = self.fetch(api_time(lo), api_time(hi), column, page_index, self.page_size)
        self.profile.learn(page_len=len(rows))
        previous: datetime | None = None
        for row in rows:
            created, modified = self.times(row)
            # Under a filter on one column every row has that column inside the bounds, so a
            # row with the other column outside them proves the reading, whatever their order.
            if not lo <= created <= hi:
                self.profile.learn(filter_on=MODIFIED_ON)
            elif not lo <= modified <= hi:
                self.profile.learn(filter_on=CREATED_ON)
            key = created if column == CREATED_ON else modified
            if previous is not None and key < previous:
                raise LeadSquaredPagingError(
                    f"activities changed in {self.window}: the listing is not ordered by {column} as asked; "
                    "it cannot be paged exactly"
                )
            previous = key
        return record_count, rows

    def ended(self, record_count: int | None, rows: list[dict[str, Any]], got: int) -> bool:
        """Whether a query has no rows beyond this page (``got``: its rows fetched so far)."""
        return _ended(self.profile, self.page_size, record_count, rows, got)

    def times(self, row: dict[str, Any]) -> tuple[datetime, datetime]:
        created, modified = parse_api_time(row.get(CREATED_ON)), parse_api_time(row.get(MODIFIED_ON))
        if "Id" not in row or created is None or modified is None:
            raise LeadSquaredApiError(
                f"activities changed in {self.window} (RetrieveRecentlyModified): a listed activity lacks "
                f"{'Id' if 'Id' not in row else CREATED_ON if created is None else MODIFIED_ON} "
                f"(it has {sorted(row)[:12]}); the listing cannot be paged exactly"
            )
        return created, modified

    def wanted(self, row: dict[str, Any]) -> bool:
        """Whether to yield a row: changed in the window, and not yielded before."""
        created, modified = self.times(row)
        activity_id = str(row["Id"])
        if modified not in self.window or activity_id in self.early:
            return False
        if self.yielded is not None:
            if activity_id in self.yielded:
                return False
            self.yielded.add(activity_id)
        if created not in self.window:
            self.created_outside.add(activity_id)
        return True

    # -- the window -------------------------------------------------------------------------

    def rows(self) -> Iterator[dict[str, Any]]:
        start: datetime | None = self.window.start
        while start is not None and start < self.window.end and self.profile.filter_on is None:
            start = yield from self.discover(start)
        if start is not None and start < self.window.end:
            yield from self.keyset(start)

    def discover(self, start: datetime) -> Generator[dict[str, Any], None, datetime | None]:
        """Read one query from ``start`` by ``PageIndex`` until the filter is known.

        Returns where paging goes on: the window's start again once ``ModifiedOn`` is known
        (the rows yielded are skipped), the last ``CreatedOn`` seen once ``CreatedOn`` is
        known, the query's end when it was read whole; None at the window's end.
        """
        lo = _floor_second(start)
        hi = _ceil_second(min(self.window.end, start + self.profile.span))
        got, last_created, found = 0, lo, 0
        page_index = 1
        while page_index <= self.max_pages:
            try:
                record_count, rows = self.get(lo, hi, CREATED_ON, page_index)
            except Exception as exc:
                if page_index > 1 or not is_heavy_failure(exc):
                    raise
                hi = self.split(lo, hi, exc)
                continue
            got += len(rows)
            for row in rows:
                last_created = max(last_created, _floor_second(self.times(row)[0]))
                if self.wanted(row):
                    self.early.add(str(row["Id"]))
                    found += 1
                    yield row
            done = self.ended(record_count, rows, got)
            if done and page_index == 1:
                self.widen(rows)
            if self.profile.filter_on is None:
                self.probe(rows)
            if self.profile.filter_on == MODIFIED_ON:
                return self.window.start
            if self.profile.filter_on == CREATED_ON:
                # Read by CreatedOn, which never moves: every row created before the last one
                # seen was seen (its second is read again, the ids already yielded skipped).
                return (None if hi >= self.window.end else hi) if done else last_created
            if done and (page_index == 1 or not found):
                # Unknown yet read whole: the query's rows are the window's (the change
                # history adds what a CreatedOn server would not list).
                return None if hi >= self.window.end else hi
            if done:
                # Several pages by PageIndex: rows edited meanwhile may have shifted others
                # to pages already read. Read the query again until a pass finds nothing new.
                got, found, page_index = 0, 0, 1
                continue
            page_index += 1
        raise LeadSquaredPagingError(
            f"activities changed in {self.window}: still paging after {self.max_pages} pages; the listing does "
            "not end (raise the connection extra 'max_pages' if the window really holds more)"
        )

    def probe(self, rows: list[dict[str, Any]]) -> None:
        """Settle the filter with one row whose times lie two seconds apart or more.

        A one-second query at its ``CreatedOn`` lists it under a ``CreatedOn`` filter and not
        under a ``ModifiedOn`` one (``ToDate`` one second on, for either reading of ``ToDate``).
        """
        for row in rows:
            created, modified = (_floor_second(t) for t in self.times(row))
            if abs(modified - created) >= 2 * _ONE_SECOND:
                break
        else:
            return
        target, got = str(row["Id"]), 0
        for page_index in range(1, self.max_pages + 1):
            record_count, found = self.get(created, created + _ONE_SECOND, CREATED_ON, page_index)
            got += len(found)
            if self.profile.filter_on is not None:
                return
            if any(str(item["Id"]) == target for item in found):
                self.profile.learn(filter_on=CREATED_ON)
                return
            if self.ended(record_count, found, got):
                self.profile.learn(filter_on=MODIFIED_ON)
                return

    def keyset(self, start: datetime) -> Iterator[dict[str, Any]]:
        """Page ``[start, window end)`` by keyset on the filtered column, span by span."""
        column = self.profile.sort_column
        cursor, end = _floor_second(start), _ceil_second(self.window.end)
        bound = min(end, cursor + self.profile.span)
        at_cursor: set[str] = set()
        while True:
            try:
                record_count, rows = self.get(cursor, bound, column, 1)
            except Exception as exc:
                if not is_heavy_failure(exc):
                    raise
                bound = self.split(cursor, bound, exc)
                continue
            for row in rows:
                if str(row["Id"]) not in at_cursor and self.wanted(row):
                    yield row
            if self.ended(record_count, rows, len(rows)):
                if bound >= end:
                    return
                at_cursor = {str(r["Id"]) for r in rows if self.key(r, column) == bound}
                self.widen(rows)
                cursor, bound = bound, min(end, bound + self.profile.span)
                continue
            furthest = self.key(rows[-1], column)
            if furthest > cursor:
                at_cursor = {str(r["Id"]) for r in rows if self.key(r, column) == furthest}
                cursor = furthest
                continue
            # A whole page inside one second: page that second alone, then go on after it.
            at_cursor = yield from self.crowded_second(cursor, column, at_cursor | {str(r["Id"]) for r in rows})
            cursor += _ONE_SECOND
            bound = max(bound, min(end, cursor + _ONE_SECOND))

    def key(self, row: dict[str, Any], column: str) -> datetime:
        created, modified = self.times(row)
        return _floor_second(created if column == CREATED_ON else modified)

    def split(self, cursor: datetime, bound: datetime, exc: BaseException) -> datetime:
        """Halve the span (and the page) after a query the service could not answer."""
        span = bound - cursor
        if span <= MIN_SPAN:
            raise LeadSquaredApiError(
                f"activities changed in {self.window}: the listing failed even for {api_time(cursor)} to "
                f"{api_time(bound)} (a span of {span}, the smallest asked for) with {self.page_size} rows per page: "
                f"{exc}",
                status_code=getattr(exc, "status_code", None),
            ) from exc
        half = max(MIN_SPAN, timedelta(seconds=int(span.total_seconds() // 2)))
        page_size = max(MIN_PAGE_SIZE, self.page_size // 2)
        log.warning(
            "The date-range listing failed for %s to %s (%s): asking for %s at a time, %d rows per page",
            api_time(cursor),
            api_time(bound),
            exc,
            half,
            page_size,
        )
        self.profile.resize(half, page_size if page_size < self.asked_page_size else None)
        return cursor + half

    def widen(self, rows: list[dict[str, Any]]) -> None:
        """Double a lowered span again when a query comes back light (under half a page).

        Once per listing: a window heavy in the morning and quiet at night keeps about the
        span that worked, and quiet days widen it back step by step.
        """
        if self.widened or self.profile.span >= CHUNK or len(rows) >= self.page_size // 2:
            return
        self.widened = True
        span = min(CHUNK, self.profile.span * 2)
        page_size = self.profile.page_size
        if page_size is not None:
            page_size = None if page_size * 2 >= self.asked_page_size else page_size * 2
        log.info("The date-range listing answers light queries again: asking for %s at a time", span)
        self.profile.resize(span, page_size)

    def crowded_second(
        self, second: datetime, column: str, seen: set[str]
    ) -> Generator[dict[str, Any], None, set[str]]:
        """Page the rows of one second by ``PageIndex``, again until a pass finds nothing new.

        Rows edited meanwhile leave the second (their time becomes now) and can shift a row
        to an earlier page; the next pass still finds it. Every pass but the last finds a row
        not seen before, so the passes end (and ``max_pages`` bounds them all). Returns the
        ids seen in the next second (the query reaches into it). ``seen``: the second's ids
        already yielded.
        """
        seen = set(seen)
        following: set[str] = set()
        while True:
            found = 0
            ids: set[str] = set()
            counts: set[int | None] = set()
            for page_index in range(1, self.max_pages + 1):
                # ToDate one second on: the second's rows whether the server reads ToDate as
                # inclusive or exclusive (the next second's rows are simply seen twice).
                record_count, rows = self.get(second, second + _ONE_SECOND, column, page_index)
                counts.add(record_count)
                for row in rows:
                    activity_id = str(row["Id"])
                    ids.add(activity_id)
                    if self.key(row, column) > second:
                        following.add(activity_id)
                    if activity_id not in seen:
                        seen.add(activity_id)
                        found += 1
                        if self.wanted(row):
                            yield row
                if self.ended(record_count, rows, len(ids)):
                    break
            totals = {count for count in counts if count is not None}
            settled = bool(self.profile.totals) and len(counts) == len(totals) == 1 and len(ids) >= max(totals)
            if settled or not found:
                return following


class FetchOrdered(Protocol):
    """A :data:`FetchRange` that can also ask for the newest rows first."""

    def __call__(
        self, lo: str, hi: str, column: str, page_index: int, page_size: int, newest_first: bool = False
    ) -> tuple[int | None, list[dict[str, Any]]]: ...


#: Rows the planning probe asks for: enough that one usually shows how the server filters.
SPAN_PROBE_ROWS = 100


def span_of_changes(fetch: FetchOrdered, window: Window, *, profile: ListingProfile, max_pages: int) -> Window | None:
    """The part of ``window`` from its first change to its last, in two or three one-query calls.

    For planning a long range cheaply (a first load's default range starts in 2000): the
    earliest rows by ``ModifiedOn`` over the whole range, which usually also prove how the
    server filters (:meth:`_RangePager.probe` settles it otherwise), then the latest row. Only
    on a server known to filter on ``ModifiedOn`` is the range trimmed: under a ``CreatedOn``
    filter an activity created before the range may change anywhere in it. None when nothing
    changed; the whole window when it cannot be told, or when the service refuses a query this
    long.
    """
    pager = _RangePager(fetch, window, SPAN_PROBE_ROWS, profile, max_pages)
    lo, hi = _floor_second(window.start), _ceil_second(window.end)
    try:
        _, first_rows = pager.get(lo, hi, MODIFIED_ON, 1)
    except Exception as exc:
        if not is_heavy_failure(exc) and not isinstance(exc, LeadSquaredApiError):
            raise
        log.info("The date-range listing did not answer for all of %s at once (%s): planning it whole", window, exc)
        return window
    if profile.filter_on is None:
        pager.probe(first_rows)
    if profile.filter_on != MODIFIED_ON:
        return window
    first = [pager.times(row)[1] for row in first_rows]
    if not any(moment in window for moment in first):
        return None
    _, last_rows = fetch(api_time(lo), api_time(hi), MODIFIED_ON, 1, 1, True)
    last = [parse_api_time(row.get(MODIFIED_ON)) for row in last_rows]
    ends = [moment for moment in (*first, *last) if moment is not None and moment in window]
    return Window(min(ends), min(window.end, _floor_second(max(ends)) + _ONE_SECOND))


def iter_changed_rows(
    fetch: FetchRange,
    window: Window,
    *,
    page_size: int,
    profile: ListingProfile,
    max_pages: int,
    created_outside: set[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield every listed activity whose ``ModifiedOn`` lies in ``window``, each once.

    Under a ``CreatedOn`` filter (see :class:`ListingProfile`) the listing cannot name an
    activity created outside the window and changed in it; ask :func:`iter_change_history` for
    those whenever ``profile.filter_on`` is not ``ModifiedOn`` after listing.

    :param fetch: one call of the date-range listing.
    :param window: the window; rows outside it are dropped.
    :param page_size: ``PageSize`` to ask for (heavy windows may lower it).
    :param profile: what is known of the server; updated as answers arrive.
    :param max_pages: the most calls for this window before giving up with an error.
    :param created_outside: filled with the ids yielded whose ``CreatedOn`` lies outside the
        window (few: what a change history entry may name again).
    """
    pager = _RangePager(fetch, window, page_size, profile, max_pages)
    yield from pager.rows()
    if created_outside is not None:
        created_outside.update(pager.created_outside)


def iter_change_history(
    fetch: FetchChanges, window: Window, *, page_size: int, max_pages: int
) -> Iterator[ChangeEntry]:
    """Yield the change entries in ``window``, read as documented or flat (see :mod:`.change_history`).

    Changes already made do not move, so ``PageIndex`` paging is exact; whether
    ``RecordCount`` is the total is learned as for the listing. An entry whose own time is
    outside the window is dropped; one without a time is kept (the server chose it for the
    window, and its lead is fetched within the window anyway). An entry without an activity
    or a lead is an error naming the window.
    """
    profile = ListingProfile()
    size = min(page_size, MAX_CHANGES_PAGE_SIZE)
    calls = 0
    for chunk in window.chunks(CHUNK):
        got, page_index = 0, 0
        while True:
            if calls >= max_pages:
                raise LeadSquaredPagingError(
                    f"activity changes in {window}: still paging after {max_pages} pages (connection extra 'max_pages')"
                )
            calls += 1
            page_index += 1
            lo, hi = api_time(_floor_second(chunk.start)), api_time(_ceil_second(chunk.end))
            record_count, entries = fetch(lo, hi, page_index, size)
            profile.learn(page_len=len(entries))
            got += len(entries)
            what = f"Get Activity Change History (RetrieveActivityChange) for {chunk}, page {page_index}"
            for raw in entries:
                entry = read_change_entry(raw, what=what)
                if entry.changed_on is None or entry.changed_on in chunk:
                    yield entry
            if _ended(profile, size, record_count, entries, got):
                break


@dataclass
class LeadPlan:
    """What to fetch of one lead within a window.

    :ivar floor: the ``CreatedOn`` of the lead's oldest activity to fetch: its activities come
        newest first, so paging stops past it. None with ``whole``: read the lead to its end.
    :ivar whole: an activity of unknown ``CreatedOn`` is wanted: no floor.
    :ivar listed: listed activities to fetch from the lead (their rows lacked a record field).
    :ivar named: activities only the change history named (they may have been listed too).
    """

    floor: str | None = None
    whole: bool = False
    listed: set[str] = field(default_factory=set)
    named: set[str] = field(default_factory=set)

    def add(self, activity_id: str, created: datetime | None, *, listed: bool) -> None:
        """Plan one more activity (``created`` None: unknown, so the lead is read to its end)."""
        (self.listed if listed else self.named).add(activity_id.lower())
        if created is None:
            self.whole, self.floor = True, None
        elif not self.whole:
            text = api_time(_floor_second(created))
            self.floor = text if self.floor is None or text < self.floor else self.floor


@dataclass
class ChangedActivities:
    """The leads changed in a window, each with its floor, as the listing and the change history showed them.

    :ivar leads: each changed lead and its plan, in the order found.
    :ivar activities: activities the listing returned (changed in the window).
    :ivar named: change history entries read.
    """

    leads: dict[str, LeadPlan] = field(default_factory=dict)
    activities: int = 0
    named: int = 0

    def lead_floors(self) -> FetchPlan:
        """Each changed lead and its floor (see :class:`LeadPlan`), in the order found."""
        return plan_of(self.leads)


def plan_of(plans: Mapping[str, LeadPlan]) -> FetchPlan:
    """The leads of the listing's plans, each with its floor: what to fetch per lead.

    The listing's leads come from the API's answers, not from a user: they are taken as they are.
    """
    return FetchPlan((lead, plan.floor) for lead, plan in plans.items())


def row_lead(row: Mapping[str, Any], where: str) -> str:
    """The lead of a listed row, lower-cased; an API error naming ``where`` if it has none."""
    lead = row.get("RelatedProspectId")
    if not isinstance(lead, str) or not lead.strip():
        raise LeadSquaredApiError(
            f"{where}: activity {row.get('Id')} has no RelatedProspectId (its lead); "
            "the answer cannot be attributed to a lead"
        )
    return lead.strip().lower()


class ChangedListing:
    """Everything changed in a window: listed rows streamed as they come, the rest planned per lead.

    :meth:`rows` yields ``(lead id, row)`` for each listed row that ``complete`` accepts, each
    once and without keeping it; a row it refuses, and every activity the change history
    names (asked only while the listing has not shown a ``ModifiedOn`` filter), is planned
    for its lead in :attr:`refetch`. Once :meth:`rows` is exhausted, fetch each planned lead
    within the window (from its floor) and write the activities :meth:`keep` accepts: no
    activity is written twice.

    :param complete: whether a listed row carries every field a record is made of.
    :param event: the event code the listing's calls ask for (None: every activity); the
        planned leads are fetched with it too.
    """

    def __init__(
        self,
        fetch_range: FetchRange,
        fetch_changes: FetchChanges,
        window: Window,
        *,
        page_size: int,
        profile: ListingProfile,
        max_pages: int,
        complete: Callable[[Mapping[str, Any]], bool],
        event: EventCode | None = None,
    ) -> None:
        self.fetch_range, self.fetch_changes = fetch_range, fetch_changes
        self.window, self.page_size, self.profile, self.max_pages = window, page_size, profile, max_pages
        self.complete, self.event = complete, event
        #: The leads to fetch within the window, each with its plan.
        self.refetch: dict[str, LeadPlan] = {}
        #: Rows listed, complete rows written straight away, change entries read.
        self.listed = self.direct = self.named = 0
        self._created_outside: set[str] = set()

    def rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield the complete listed rows; fill :attr:`refetch` with the rest."""
        where = f"activities changed in {self.window} (RetrieveRecentlyModified)"
        outside: set[str] = set()
        for row in iter_changed_rows(
            self.fetch_range,
            self.window,
            page_size=self.page_size,
            profile=self.profile,
            max_pages=self.max_pages,
            created_outside=outside,
        ):
            self.listed += 1
            lead = row_lead(row, where)
            if self.complete(row):
                self.direct += 1
                yield lead, row
            else:
                plan = self.refetch.setdefault(lead, LeadPlan())
                plan.add(str(row["Id"]), parse_api_time(row.get(CREATED_ON)), listed=True)
        self._created_outside = {activity_id.lower() for activity_id in outside}
        if self.profile.filter_on == MODIFIED_ON:
            return
        for entry in iter_change_history(
            self.fetch_changes, self.window, page_size=self.page_size, max_pages=self.max_pages
        ):
            self.named += 1
            self.refetch.setdefault(entry.lead_id, LeadPlan()).add(entry.activity_id, entry.created_on, listed=False)

    def plan(self) -> ChangedActivities:
        """Plan every row's lead, writing none (for the per-lead path): the leads and their floors."""
        for _ in self.rows():
            pass  # only rows ``complete`` accepts are yielded; the rest are planned
        return ChangedActivities(leads=self.refetch, activities=self.listed, named=self.named)

    def keep(self, plan: LeadPlan, activity: Mapping[str, Any]) -> bool:
        """Whether to write an activity of a planned lead (already known to be changed in the window).

        A listed activity whose row lacked a field is written; one only the change history
        named is written unless the listing wrote it: the listing holds every activity
        created in the window, and the few created outside it are remembered.
        """
        activity_id = str(activity.get("Id") or "").lower()
        if activity_id in plan.listed:
            return True
        if activity_id not in plan.named:
            return False
        listed = parse_api_time(activity.get(CREATED_ON)) in self.window or activity_id in self._created_outside
        return not listed


def list_changed(
    fetch_range: FetchRange,
    fetch_changes: FetchChanges,
    window: Window,
    *,
    page_size: int,
    profile: ListingProfile,
    max_pages: int,
) -> ChangedActivities:
    """List the leads with an activity whose ``ModifiedOn`` lies in ``window``, each with its floor.

    For the per-lead path, which fetches each such lead within the window: rows are counted,
    never kept (see :class:`ChangedListing`).
    """
    return ChangedListing(
        fetch_range,
        fetch_changes,
        window,
        page_size=page_size,
        profile=profile,
        max_pages=max_pages,
        complete=lambda row: False,
    ).plan()


def in_window(activity: Mapping[str, Any], window: Window) -> bool:
    """Whether an activity's ``ModifiedOn`` lies in the window."""
    return parse_api_time(activity.get(MODIFIED_ON)) in window


def changed_in_lead(
    activities: Iterable[dict[str, Any]], window: Window, floor: str | None = None
) -> Iterator[dict[str, Any]]:
    """Keep a lead's activities (newest first by ``CreatedOn``) whose ``ModifiedOn`` lies in ``window``.

    Stops reading at the first activity created before ``floor`` (the ``CreatedOn`` of the
    lead's oldest activity changed in the window, see :class:`LeadPlan`): the rest of the
    history cannot hold a changed one, so no further page is fetched. Should the lead's
    activities turn out not to be ordered by ``CreatedOn``, the floor is no longer trusted and
    the lead is read to its end.
    """
    limit = parse_api_time(floor) if floor is not None else None
    previous: datetime | None = None
    for activity in activities:
        created = parse_api_time(activity.get(CREATED_ON))
        if created is None or (previous is not None and created > previous):
            limit = None
        previous = created
        if limit is not None and created is not None and created < limit:
            return
        if in_window(activity, window):
            yield activity


def is_complete_row(row: Mapping[str, Any], fields: Iterable[str]) -> bool:
    """Whether a listed row carries every field the sinks write (so no per-lead call is needed).

    ``ActivityFields`` counts as present when the row carries the activity's fields in another
    shape the listing uses (a ``Fields`` list, top-level ``mx_...`` keys; see
    :func:`~airflow_provider_leadact.records.has_activity_fields`).
    """
    return all(name in row or (name == ACTIVITY_FIELDS and has_activity_fields(row)) for name in fields)
