"""The readings of ``Paging.Offset`` in "Get Activities of a Lead", and how to tell them apart.

The documentation calls ``Offset`` a page number while its examples send both 0 and 1, and
clients in the wild send row offsets. Each reading is one small paginator in the shape of
dlt's ``BasePaginator``: it reads the page just fetched (:meth:`OffsetReading.update_state`)
and says where the next one is (:attr:`OffsetReading.next_offset`). The first page
(``Offset`` 0) is the same under every reading; :class:`OffsetDetector` asks for ``Offset`` 1
and names the reading from how that answer compares with page one.

Free of HTTP and of threads: :mod:`~airflow_provider_leadact.paging` calls the API and shares
what is learned between leads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow_provider_leadact.exceptions import LeadSquaredPagingError

Rows = Sequence[Mapping[str, Any]]


class OffsetReading:
    """One reading of ``Paging.Offset``: where the next page is, from the page just read."""

    #: The reading's name, as :class:`~airflow_provider_leadact.paging.ServerProfile` keeps it.
    name: ClassVar[str]
    #: Whether the answer at ``Offset`` 1 is page one again (so it brought nothing new).
    probe_repeats_first_page: ClassVar[bool] = False

    def __init__(self) -> None:
        #: The ``Offset`` to ask for next (page one until a page was read).
        self.next_offset = 0

    def update_state(self, offset: int, rows: Rows) -> None:
        """Advance past the page answered at ``offset``."""
        raise NotImplementedError


class ZeroBasedPages(OffsetReading):
    """``Offset`` is a page number from 0."""

    name = "page0"

    def update_state(self, offset: int, rows: Rows) -> None:
        self.next_offset = offset + 1


class OneBasedPages(OffsetReading):
    """``Offset`` is a page number from 1; 0 and 1 both give page one."""

    name = "page1"
    probe_repeats_first_page = True

    def update_state(self, offset: int, rows: Rows) -> None:
        self.next_offset = max(offset, 1) + 1


class RowOffsets(OffsetReading):
    """``Offset`` counts rows: the next page starts after the rows this one returned."""

    name = "row"

    def update_state(self, offset: int, rows: Rows) -> None:
        # The rows returned, not the size asked: a server may cap its pages silently.
        self.next_offset = offset + len(rows)


#: Every reading by its name.
READINGS: dict[str, type[OffsetReading]] = {cls.name: cls for cls in (ZeroBasedPages, OneBasedPages, RowOffsets)}


def reading_after(name: str, offset: int, rows: Rows) -> OffsetReading:
    """The reading called ``name``, advanced past the page answered at ``offset``."""
    reading = READINGS[name]()
    reading.update_state(offset, rows)
    return reading


class OffsetDetector:
    """Names the server's reading from page one and the answer at ``Offset`` 1.

    In dlt's paginator shape too: :attr:`next_offset` is the probe's, and
    :meth:`update_state` with the probe's answer sets :attr:`reading`, advanced past it.

    :param first: the rows of page one (``Offset`` 0).
    :param lead_id: for error messages.
    """

    next_offset = 1

    def __init__(self, first: Rows, lead_id: str) -> None:
        self.first = first
        self.lead_id = lead_id
        #: The reading once the probe named it; None before, or when the probe had no rows.
        self.reading: OffsetReading | None = None

    def update_state(self, offset: int, rows: Rows) -> None:
        """Read the answer at ``Offset`` 1; an empty one names no reading.

        :raises LeadSquaredPagingError: when the answer fits no reading.
        """
        if rows:
            self.reading = reading_after(self.classify(rows), offset, rows)

    def classify(self, probe: Rows) -> str:
        """The reading's name: page one again is 1-based pages, page one shifted by a row is row
        offsets, rows not on page one are 0-based pages.

        :raises LeadSquaredPagingError: when the answer overlaps page one in another way.
        """
        first_ids, probe_ids = _ids(self.first), _ids(probe)
        if probe_ids == first_ids:
            return OneBasedPages.name
        if len(first_ids) >= 2 and probe_ids[0] == first_ids[1]:
            return RowOffsets.name
        if not set(probe_ids) & set(first_ids):
            return ZeroBasedPages.name
        raise LeadSquaredPagingError(
            f"lead {self.lead_id}: cannot tell how the server reads Paging.Offset (page 1 overlaps "
            "page 0 in an unexpected way); activities may have changed during paging: run the task again"
        )


def _ids(rows: Rows) -> list[Any]:
    return [row.get("Id") for row in rows]
