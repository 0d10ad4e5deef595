"""Paging through a lead's activities, exactly, whatever the server's reading of ``Paging``.

The documentation of "Get Activities of a Lead" leaves three things open (see the README's
design notes): whether ``Paging.Offset`` is a 0-based page, a 1-based page (0 and 1 both
giving page one) or a row offset; whether ``RecordCount`` is the lead's total or the page's
count; and how large ``RowCount`` may be (a server may silently return fewer rows).

The pager never guesses. The first page (``Offset`` 0) is the same under every reading. When
more may remain and the reading is not yet known, it asks for ``Offset`` 1 and compares the
answer with page one: the same rows means 1-based pages, rows shifted by one means row
offsets, new rows mean 0-based pages (:mod:`~airflow_provider_leadact.offset_readings` holds the
readings and the detector). What it learns is kept in a :class:`ServerProfile`
shared by every lead a hook fetches, so later leads cost no probe, and a single-page lead
costs one call once ``RecordCount`` is known to be the total. Leads paged at once share one
probe: while it is under way, the others wait for its answer instead of asking the same.
Activities are de-duplicated by ``Id``, and the number of pages per lead is bounded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_leadact.exceptions import LeadSquaredPagingError
from airflow_provider_leadact.offset_readings import OffsetDetector, OffsetReading, reading_after
from airflow_provider_leadact.page_evidence import PageEvidence, proves_totals

#: fetch(offset, row_count) -> (RecordCount or None, the page's activities)
FetchPage = Callable[[int, int], tuple["int | None", list[dict[str, Any]]]]

log = logging.getLogger(__name__)


@dataclass
class ServerProfile(PageEvidence):
    """What has been learned about one server's paging, shared by the leads of one hook.

    :param totals: True when ``RecordCount`` is the lead's total, False when it is the page's
        count, None while unknown.
    :param full_page: the longest page seen for the hook's page size: as a server caps every
        page at the same size, a shorter page is always the last one.
    :param offset_mode: ``page0``, ``page1``, ``row`` (see
        :data:`~airflow_provider_leadact.offset_readings.READINGS`), or None while unknown.
    """

    offset_mode: str | None = None
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)
    _probing: bool = field(default=False, repr=False, compare=False)
    _probed: bool = field(default=False, repr=False, compare=False)

    def learn(self, *, offset_mode: str | None = None, totals: bool | None = None, page_len: int = 0) -> None:
        """Keep what an answer proved (None and 0 prove nothing) and wake the leads waiting for it."""
        with self._lock:
            if offset_mode is not None:
                self.offset_mode = offset_mode
            if totals is not None:
                self.totals = totals
            self.full_page = max(self.full_page, page_len)
            self._lock.notify_all()

    def claim_probe(self) -> bool:
        """Claim the first probe of the offset reading; False while another lead's is under way.

        Leads fetched at once would otherwise each spend a call on the same question. Only the
        first probe is waited for: when its answer settles neither the reading nor the totals
        (a single-page lead on a server counting pages), later leads probe each for itself.
        """
        with self._lock:
            if self._probing and not self._probed:
                return False
            self._probing = True
            return True

    def probe_done(self) -> None:
        """Release the probe (answered or failed) and wake the leads waiting for it."""
        with self._lock:
            self._probing = False
            self._probed = True
            self._lock.notify_all()

    def wait_for_probe(self) -> None:
        """Wait while another lead's probe is under way and the reading is still unknown."""
        with self._lock:
            while self._probing and not self._probed and self.offset_mode is None:
                self._lock.wait()


def record_count_of(value: Any) -> int | None:
    """Read an answer's ``RecordCount``: a count, or None when the answer has none.

    The API sends numbers as strings in places (the documented examples of "Get Activity
    Change History" do), so a string of digits is a count too. Anything else (absent, null,
    negative, a bool, text) is no count: paging then relies on page lengths alone.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


class _LeadPager:
    """The state of paging through one lead: the calls made, the ids seen."""

    def __init__(self, fetch: FetchPage, page_size: int, profile: ServerProfile, max_pages: int, lead_id: str):
        self.fetch = fetch
        self.page_size = page_size
        self.profile = profile
        self.max_pages = max_pages
        self.lead_id = lead_id
        self.seen: set[Any] = set()
        self.calls = 0

    def get(self, offset: int) -> tuple[int | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """Fetch one page; return RecordCount, the rows, and the rows not seen before."""
        if self.calls >= self.max_pages:
            raise LeadSquaredPagingError(
                f"lead {self.lead_id}: still paging after {self.max_pages} pages; the server's paging "
                "does not end (raise the connection extra 'max_pages' if the lead really has more)"
            )
        self.calls += 1
        count, rows = self.fetch(offset, self.page_size)
        record_count = record_count_of(count)
        new = []
        for row in rows:
            key = row.get("Id")
            if key not in self.seen:
                self.seen.add(key)
                new.append(row)
        self.learn_from(record_count, rows)
        return record_count, rows, new

    def learn_from(self, record_count: int | None, rows: list[dict[str, Any]]) -> None:
        totals = None
        if proves_totals(record_count, len(rows)):
            totals = True
        elif record_count is not None:
            if record_count < len(self.seen):
                totals = False  # a lead's total cannot be below the rows already fetched
            elif not rows and self.seen:
                totals = record_count > 0
        self.profile.learn(totals=totals, page_len=len(rows))

    def done(self, record_count: int | None, rows: list[dict[str, Any]]) -> bool:
        if not rows:
            if self.profile.totals and record_count is not None and len(self.seen) < record_count:
                # Activities deleted while paging, or a server counting what it does not return.
                log.warning(
                    "lead %s: RecordCount says %d activities but paging ended after %d",
                    self.lead_id,
                    record_count,
                    len(self.seen),
                )
            return True
        return self.profile.is_last_page(record_count, len(rows), len(self.seen))

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        record_count, first, new = self.get(0)
        yield new
        if self.done(record_count, first):
            return
        mode = self.profile.offset_mode
        while mode is None and not self.profile.claim_probe():
            # Another lead is asking for Offset 1: its answer settles this lead's question too.
            self.profile.wait_for_probe()
            if self.done(record_count, first):
                return
            mode = self.profile.offset_mode
        if mode is None:
            reading = yield from self.probe(first)
        else:
            reading = reading_after(mode, 0, first)
        if reading is not None:
            yield from self.follow(reading)

    def probe(self, first: list[dict[str, Any]]) -> Generator[list[dict[str, Any]], None, OffsetReading | None]:
        """Ask for ``Offset`` 1 (this lead holds the profile's probe); return the reading to go on
        with, None when the lead has no more pages."""
        detector = OffsetDetector(first, self.lead_id)
        try:
            record_count, rows, new = self.get(detector.next_offset)
            detector.update_state(detector.next_offset, rows)
            if detector.reading is not None:
                # Learned before the page is handed on: a caller may stop reading here (a
                # lead fetched within a window), and the waiting leads need the answer.
                self.profile.learn(offset_mode=detector.reading.name)
        finally:
            self.profile.probe_done()
        yield new
        reading = detector.reading
        if reading is None or (not reading.probe_repeats_first_page and self.done(record_count, rows)):
            return None
        return reading

    def follow(self, reading: OffsetReading) -> Iterator[list[dict[str, Any]]]:
        """Page on under a known reading until the pages end."""
        while True:
            offset = reading.next_offset
            record_count, rows, new = self.get(offset)
            if rows and not new:
                raise LeadSquaredPagingError(
                    f"lead {self.lead_id}: page at Offset {offset} repeated activities already fetched; "
                    f"the server no longer pages as {reading.name!r} as it did for earlier leads; run the task again"
                )
            reading.update_state(offset, rows)
            yield new
            if self.done(record_count, rows):
                return


def iter_activity_pages(
    fetch: FetchPage,
    *,
    page_size: int,
    profile: ServerProfile,
    max_pages: int,
    lead_id: str,
) -> Iterator[list[dict[str, Any]]]:
    """Yield a lead's activities page by page, each activity exactly once.

    :param fetch: calls the API for one page: ``fetch(offset, row_count)``.
    :param page_size: ``RowCount`` to ask for.
    :param profile: what is known of the server's paging; updated as pages arrive.
    :param max_pages: the most calls for this lead before giving up with an error.
    :param lead_id: for error messages.
    """
    yield from _LeadPager(fetch, page_size, profile, max_pages, lead_id).pages()
