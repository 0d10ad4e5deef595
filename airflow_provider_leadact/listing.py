"""Listing what changed in a window, exactly, whatever the server's reading of the date range.

"Get Activities by Date Range" (``ProspectActivity.svc/RetrieveRecentlyModified``) lists the
activities of every lead in a window, but its documentation leaves open whether ``RecordCount``
is the total or the page's count, how large ``PageSize`` may be (a server may silently return
fewer rows), whether it filters on ``ModifiedOn`` or on ``CreatedOn``, and whether ``ToDate``
is inclusive. Rows also move while a window is paged: an activity edited during the listing
gets a new ``ModifiedOn``, so paging by ``PageIndex`` over an ordering by that time can shift
rows between pages and skip one.

The pager never guesses and never pages by index over a moving ordering:

- **Keyset paging.** Rows are asked for oldest first by a timestamp column, and each next
  query starts (``FromDate``) at the last timestamp seen, rows being de-duplicated by ``Id``.
  A query from time ``t`` holds every row not yet seen, whatever moved before ``t``. Only a
  single second holding more than a page is paged by ``PageIndex`` (that second alone), and
  then read again until a pass finds nothing new.
- **Which timestamp the server filters on is learned.** A row created before ``FromDate``
  proves a ``ModifiedOn`` filter; a row modified after ``ToDate`` proves a ``CreatedOn``
  filter. Until one is seen, rows are ordered by ``CreatedOn``, which never changes, and a
  query from the last ``CreatedOn`` seen misses nothing under either filter (an unseen row
  has ``ModifiedOn >= CreatedOn >= t``). Once a ``ModifiedOn`` filter is known, rows are
  ordered by ``ModifiedOn``, the cheaper keyset there.
- **Windows are** ``[start, end)`` **on** ``ModifiedOn``, **decided here.** ``ToDate`` is
  sent as ``end`` rounded up to the second and rows at or after ``end`` are dropped, which
  is exact whether the server reads ``ToDate`` as inclusive or exclusive. Long windows are
  split into chunks (14 days, as public clients do).
- **Edits of older activities.** When the server filters on ``CreatedOn`` (or the window
  gave no evidence either way), an activity created before the window and edited in it is
  not in the listing; "Get Activity Change History" names it, with its lead
  (:func:`iter_change_history`).

Everything here is free of HTTP: the hook passes one-call callbacks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_leadact.exceptions import LeadSquaredConfigError, LeadSquaredPagingError
from airflow_provider_leadact.records import ACTIVITY_FIELDS, has_activity_fields

if TYPE_CHECKING:
    from airflow_provider_leadact.change_history import ChangeEntry

#: fetch(FromDate, ToDate, sort column, PageIndex, PageSize) -> (RecordCount or None, rows),
#: rows sorted oldest first by the column.
FetchRange = Callable[[str, str, str, int, int], tuple["int | None", list[dict[str, Any]]]]
#: fetch(FromDate, ToDate, PageIndex, PageSize) -> (RecordCount or None, change entries).
FetchChanges = Callable[[str, str, int, int], tuple["int | None", list[dict[str, Any]]]]

API_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MODIFIED_ON = "ModifiedOn"
CREATED_ON = "CreatedOn"
#: Longest window asked for in one listing; longer windows are split.
CHUNK = timedelta(days=14)
#: Largest page "Get Activity Change History" hands out (documented).
MAX_CHANGES_PAGE_SIZE = 1000
_ONE_SECOND = timedelta(seconds=1)
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


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in UTC (naive datetimes, read as UTC).

    Build it with :meth:`of`, which refuses what is not a window before any call.
    """

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: Any, end: Any, names: tuple[str, str] = ("from_date", "to_date")) -> Window:
        """Check and normalise a window from datetimes (naive ones are UTC) or their ISO text.

        :param names: the parameters the bounds came from, for messages.
        :raises LeadSquaredConfigError: for a value that is not a date and time, or a window
            that is empty or reversed.
        """
        lo, hi = _to_utc(start, names[0]), _to_utc(end, names[1])
        if hi <= lo:
            which = "empty" if hi == lo else "reversed"
            raise LeadSquaredConfigError(
                f"the window from {lo.isoformat(sep=' ')} to {hi.isoformat(sep=' ')} (UTC) is {which}: "
                f"{names[1]} must be after {names[0]} "
                "(e.g. {{ data_interval_start }} to {{ data_interval_end }})"
            )
        return cls(lo, hi)

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    def chunks(self, size: timedelta = CHUNK) -> list[Window]:
        """Split into consecutive windows of at most ``size``."""
        out, lo = [], self.start
        while lo < self.end:
            hi = min(self.end, lo + size)
            out.append(Window(lo, hi))
            lo = hi
        return out

    def __str__(self) -> str:
        return f"[{self.start.isoformat(sep=' ')}, {self.end.isoformat(sep=' ')})"


def _to_utc(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise LeadSquaredConfigError(
                f"{name} is empty (did its template render to nothing?): pass a date and time such as "
                "'{{ data_interval_start }}' or 2025-01-03T00:00:00+00:00"
            )
        try:
            import pendulum

            parsed: Any = pendulum.parse(text, tz="UTC")
        except (ValueError, TypeError) as err:  # pendulum's ParserError is a ValueError
            raise LeadSquaredConfigError(f"{name} {text!r} is not a date and time: {err}") from None
        if not isinstance(parsed, datetime):
            raise LeadSquaredConfigError(f"{name} {text!r} is not a date and time (e.g. 2025-01-03T00:00:00+00:00)")
        value = parsed
    if not isinstance(value, datetime):
        raise LeadSquaredConfigError(
            f"{name} must be a date and time (e.g. '{{{{ data_interval_start }}}}'), got {value!r}"
        )
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value


def _floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _ceil_second(moment: datetime) -> datetime:
    floor = _floor_second(moment)
    return floor if floor == moment else floor + _ONE_SECOND


@dataclass
class ListingProfile:
    """What has been learned about one server's date-range listing, shared by a hook's listings.

    :param filter_on: ``ModifiedOn`` or ``CreatedOn`` once an answer proved which timestamp
        the server filters on; None while unknown.
    :param totals: True once ``RecordCount`` proved to be the query's total (it exceeded a
        page's rows); None while unknown.
    :param full_page: the longest page seen: as a server caps every page alike, a shorter
        page is the last one of its query.
    """

    filter_on: str | None = None
    totals: bool | None = None
    full_page: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def learn(self, *, filter_on: str | None = None, totals: bool | None = None, page_len: int = 0) -> None:
        with self._lock:
            if filter_on is not None and self.filter_on not in (None, filter_on):
                raise LeadSquaredPagingError(
                    f"the date-range listing filtered on {self.filter_on} earlier and on {filter_on} now; "
                    "its answers cannot be paged exactly: run the task again"
                )
            if filter_on is not None:
                self.filter_on = filter_on
            if totals is not None:
                self.totals = totals
            self.full_page = max(self.full_page, page_len)

    @property
    def sort_column(self) -> str:
        """The column to order and advance by: ``ModifiedOn`` once that filter is known."""
        return MODIFIED_ON if self.filter_on == MODIFIED_ON else CREATED_ON


def _ended(profile: ListingProfile, record_count: int | None, rows: list[dict[str, Any]], got: int) -> bool:
    """Whether a query has no rows beyond this page (``got``: its rows fetched so far)."""
    if not rows:
        return True
    if record_count is not None and record_count > len(rows):
        profile.learn(totals=True)
    if profile.totals and record_count is not None:
        return got >= record_count
    # Every page but a query's last is as long as the server's cap (or the size asked).
    return len(rows) < profile.full_page


class _RangePager:
    """The state of listing one window: the rows seen, the calls made."""

    def __init__(
        self, fetch: FetchRange, window: Window, page_size: int, profile: ListingProfile, max_pages: int
    ) -> None:
        self.fetch = fetch
        self.window = window
        self.page_size = page_size
        self.profile = profile
        self.max_pages = max_pages
        self.seen: set[str] = set()
        self.calls = 0

    def get(
        self, lo: datetime, hi: datetime, column: str, page_index: int
    ) -> tuple[int | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """One call; return RecordCount, the rows, and the unseen rows inside the window."""
        if self.calls >= self.max_pages:
            raise LeadSquaredPagingError(
                f"activities changed in {self.window}: still paging after {self.max_pages} pages; the listing does "
                "not end (raise the connection extra 'max_pages' if the window really holds more)"
            )
        self.calls += 1
        record_count, rows = self.fetch(api_time(lo), api_time(hi), column, page_index, self.page_size)
        self.profile.learn(page_len=len(rows))
        previous: datetime | None = None
        wanted = []
        for row in rows:
            created, modified = self.times(row)
            self.learn_filter(created, modified, lo, hi)
            key = created if column == CREATED_ON else modified
            if previous is not None and key < previous:
                raise LeadSquaredPagingError(
                    f"activities changed in {self.window}: the listing is not ordered by {column} as asked; "
                    "it cannot be paged exactly"
                )
            previous = key
            activity_id = str(row["Id"])
            if modified in self.window and activity_id not in self.seen:
                self.seen.add(activity_id)
                wanted.append(row)
        return record_count, rows, wanted

    def times(self, row: dict[str, Any]) -> tuple[datetime, datetime]:
        created, modified = parse_api_time(row.get(CREATED_ON)), parse_api_time(row.get(MODIFIED_ON))
        if "Id" not in row or created is None or modified is None:
            raise LeadSquaredPagingError(
                f"activities changed in {self.window}: a listed activity lacks Id, CreatedOn or ModifiedOn "
                f"({sorted(row)[:12]}); the listing cannot be paged exactly"
            )
        return created, modified

    def learn_filter(self, created: datetime, modified: datetime, lo: datetime, hi: datetime) -> None:
        # An activity's ModifiedOn is never before its CreatedOn, so each row can prove one reading.
        if created < lo:
            self.profile.learn(filter_on=MODIFIED_ON)
        elif modified > hi:
            self.profile.learn(filter_on=CREATED_ON)

    def rows(self) -> Iterator[dict[str, Any]]:
        for chunk in self.window.chunks():
            yield from self.chunk(chunk)

    def chunk(self, chunk: Window) -> Iterator[dict[str, Any]]:
        cursor, last = _floor_second(chunk.start), _ceil_second(chunk.end)
        while cursor < chunk.end:
            column = self.profile.sort_column
            record_count, rows, wanted = self.get(cursor, last, column, 1)
            yield from wanted
            if _ended(self.profile, record_count, rows, len(rows)):
                return
            furthest = _floor_second(self.times(rows[-1])[0 if column == CREATED_ON else 1])
            if self.profile.sort_column != column:
                # The reading became known on this page: every row with the old column's value
                # before the cursor was seen, hence every row modified before it (see the module doc).
                cursor = max(cursor, furthest)
                continue
            if furthest > cursor:
                cursor = furthest
                continue
            # A whole page inside one second: page that second alone, then go on after it.
            yield from self.crowded_second(cursor, column)
            cursor += _ONE_SECOND

    def crowded_second(self, second: datetime, column: str) -> Iterator[dict[str, Any]]:
        """Page the rows of one second by ``PageIndex``, again until a pass finds nothing new.

        Rows edited meanwhile leave the second (their time becomes now) and can shift a row
        to an earlier page; the next pass still finds it. Every pass but the last finds a row
        not seen before, so the passes end (and ``max_pages`` bounds them all).
        """
        while True:
            found = 0
            ids: set[str] = set()
            counts: set[int | None] = set()
            for page_index in range(1, self.max_pages + 1):
                # ToDate one second on: the second's rows whether the server reads ToDate as
                # inclusive or exclusive (the next second's rows are simply seen twice).
                record_count, rows, wanted = self.get(second, second + _ONE_SECOND, column, page_index)
                counts.add(record_count)
                ids.update(str(row["Id"]) for row in rows)
                found += len(wanted)
                yield from wanted
                if _ended(self.profile, record_count, rows, len(ids)):
                    break
            settled = self.profile.totals and len(counts) == 1 and None not in counts and len(ids) >= max(counts)
            if settled or not found:
                return


def iter_changed_rows(
    fetch: FetchRange, window: Window, *, page_size: int, profile: ListingProfile, max_pages: int
) -> Iterator[dict[str, Any]]:
    """Yield every listed activity whose ``ModifiedOn`` lies in ``window``, each once.

    Under a ``CreatedOn`` filter (see :class:`ListingProfile`) the listing cannot name an
    activity created before the window and edited in it; ask :func:`iter_change_history` for
    those whenever ``profile.filter_on`` is not ``ModifiedOn`` after listing.

    :param fetch: one call of the date-range listing.
    :param window: the window; rows outside it are dropped.
    :param page_size: ``PageSize`` to ask for.
    :param profile: what is known of the server; updated as answers arrive.
    :param max_pages: the most calls for this window before giving up with an error.
    """
    yield from _RangePager(fetch, window, page_size, profile, max_pages).rows()


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
    # Imported here: change_history reads times with this module's parse_api_time.
    from airflow_provider_leadact.change_history import read_change_entry

    profile = ListingProfile()
    size = min(page_size, MAX_CHANGES_PAGE_SIZE)
    calls = 0
    for chunk in window.chunks():
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
            if _ended(profile, record_count, entries, got):
                break


@dataclass
class ChangedActivities:
    """What changed in a window, as the listing and the change history showed it.

    :ivar rows: listed activities whose ``ModifiedOn`` lies in the window, by ``Id``.
    :ivar edited_elsewhere: activities the change history names but the listing did not
        (created before the window on a server listing by ``CreatedOn``), by ``Id``, with
        their lead ids.
    """

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    edited_elsewhere: dict[str, str] = field(default_factory=dict)

    def lead_floors(self) -> dict[str, str | None]:
        """Each changed lead and the ``CreatedOn`` of its oldest changed activity, oldest lead first.

        A lead's activities come newest first by ``CreatedOn``; past this time, the rest of
        its history cannot hold a changed activity. None: not known (page the whole lead).
        """
        floors: dict[str, str | None] = {}
        for row in self.rows.values():
            lead = str(row.get("RelatedProspectId") or "").lower()
            created = api_time(parse_api_time(row[CREATED_ON]))  # type: ignore[arg-type]
            if lead not in floors:
                floors[lead] = created
            elif floors[lead] is not None and created < floors[lead]:  # type: ignore[operator]
                floors[lead] = created
        for lead in self.edited_elsewhere.values():
            floors[lead.lower()] = None
        floors.pop("", None)
        return floors


def list_changed(
    fetch_range: FetchRange,
    fetch_changes: FetchChanges,
    window: Window,
    *,
    page_size: int,
    profile: ListingProfile,
    max_pages: int,
) -> ChangedActivities:
    """List everything whose ``ModifiedOn`` lies in ``window``: the listing, plus the change history when needed.

    The change history is asked only while the listing has not shown that it filters on
    ``ModifiedOn``: on such a server the listing alone is complete.
    """
    changed = ChangedActivities()
    for row in iter_changed_rows(fetch_range, window, page_size=page_size, profile=profile, max_pages=max_pages):
        changed.rows[str(row["Id"])] = row
    if profile.filter_on != MODIFIED_ON:
        listed = {activity_id.lower() for activity_id in changed.rows}
        for entry in iter_change_history(fetch_changes, window, page_size=page_size, max_pages=max_pages):
            if entry.activity_id not in listed:
                changed.edited_elsewhere[entry.activity_id] = entry.lead_id
    return changed


def in_window(activity: Mapping[str, Any], window: Window) -> bool:
    """Whether an activity's ``ModifiedOn`` lies in the window."""
    return parse_api_time(activity.get(MODIFIED_ON)) in window


def changed_in_lead(
    activities: Iterable[dict[str, Any]], window: Window, floor: str | None = None
) -> Iterator[dict[str, Any]]:
    """Keep a lead's activities (newest first by ``CreatedOn``) whose ``ModifiedOn`` lies in ``window``.

    Stops reading at the first activity created before ``floor`` (the ``CreatedOn`` of the
    lead's oldest activity changed in the window, see :meth:`ChangedActivities.lead_floors`):
    the rest of the history cannot hold a changed one, so no further page is fetched. Should
    the lead's activities turn out not to be ordered by ``CreatedOn``, the floor is no longer
    trusted and the lead is read to its end.
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
