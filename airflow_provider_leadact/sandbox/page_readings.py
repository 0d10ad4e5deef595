"""The readings of LeadSquared's undocumented paging, free of any HTTP.

"Get Activities of a Lead": ``Paging.Offset`` is documented as a "page number" but the
examples send both 0 and 1, and clients in the wild treat it as a row offset; ``RecordCount``
is never said to be the lead's total or the page's length. "Get Activities by Date Range"
pages by a 1-based ``PageIndex`` and leaves open the same ``RecordCount`` question, its
largest ``PageSize``, the timestamp it filters on and how much of each activity it returns.
The sandbox answers under every reading, and the client's unit tests call :func:`page_of` and
:func:`index_page_of` directly to know what a server would return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: Meanings of ``Paging.Offset``: 0-based page, 1-based page (0 and 1 both page one), row.
OFFSET_MODES: tuple[str, ...] = ("page0", "page1", "row")
#: Meanings of ``RecordCount``: the lead's total, or the number of rows in this page.
RECORD_COUNTS: tuple[str, ...] = ("total", "page")
#: Timestamps the date-range listing may filter on.
RANGE_FILTERS: tuple[str, ...] = ("ModifiedOn", "CreatedOn")
#: How much of each activity the date-range listing returns: every field the per-lead call
#: returns (custom ``mx_`` fields only with ``IncludeCustomFields``), or a summary.
RANGE_FIELDS: tuple[str, ...] = ("full", "partial")
#: Where the date-range listing puts an activity's custom fields when asked for them
#: (``IncludeCustomFields``): in ``ActivityFields`` as the per-lead call does, as top-level
#: ``mx_...`` keys of the row, or as a ``Fields`` list of ``{"Key", "Value"}`` pairs; public
#: clients read each of them.
RANGE_CUSTOM_FIELDS: tuple[str, ...] = ("activity_fields", "top_level", "fields_list")
#: Shapes of a "Get Activity Change History" entry: as documented (the activity nested under
#: ``Activity``, its id ``ProspectActivityId``, codes as strings), or flat.
CHANGES_SHAPES: tuple[str, ...] = ("documented", "flat")


def page_of(
    rows: Sequence[T],
    offset: int | None,
    row_count: int | None,
    *,
    offset_mode: str = "page0",
    record_count: str = "total",
    row_cap: int | None = None,
    default_rows: int = 25,
) -> tuple[int, list[T]]:
    """Return ``(RecordCount, page)`` as a server with the given semantics would.

    :param rows: every row the request matches, in answer order (newest first).
    :param offset: ``Paging.Offset`` as an integer, or ``None`` when not sent.
    :param row_count: ``Paging.RowCount`` as an integer, or ``None`` when not sent.
    :param offset_mode: ``"page0"`` (0-based page number), ``"page1"`` (1-based page number,
        where 0 and 1 both give page one) or ``"row"`` (row offset).
    :param record_count: ``"total"`` (``RecordCount`` is ``len(rows)``) or ``"page"``
        (``RecordCount`` is the length of the returned page).
    :param row_cap: largest page the server hands out, silently applied; ``None`` for none.
    :param default_rows: rows returned when no paging is sent, and the page size when only
        ``offset`` is sent.
    :return: the ``RecordCount`` value and the rows of the page.
    :raises ValueError: for a negative offset, a row count below 1, or an unknown mode.
    """
    if offset_mode not in OFFSET_MODES:
        raise ValueError(f"offset_mode must be one of {OFFSET_MODES}, got {offset_mode!r}")
    if record_count not in RECORD_COUNTS:
        raise ValueError(f"record_count must be one of {RECORD_COUNTS}, got {record_count!r}")
    if default_rows < 1:
        raise ValueError(f"default_rows must be at least 1, got {default_rows}")
    if row_cap is not None and row_cap < 1:
        raise ValueError(f"row_cap must be at least 1 or None, got {row_cap}")
    if offset is not None and offset < 0:
        raise ValueError(f"Paging.Offset must not be negative, got {offset}")
    if row_count is not None and row_count < 1:
        raise ValueError(f"Paging.RowCount must be at least 1, got {row_count}")

    if offset is None and row_count is None:
        # The documented behaviour without paging: "up to 25 activities in a single call".
        page = list(rows[:default_rows])
    else:
        size = default_rows if row_count is None else row_count
        if row_cap:
            size = min(size, row_cap)
        position = 0 if offset is None else offset
        if offset_mode == "page0":
            first = position * size
        elif offset_mode == "page1":
            first = (max(position, 1) - 1) * size
        else:
            first = position
        page = list(rows[first : first + size])

    count = len(rows) if record_count == "total" else len(page)
    return count, page


def index_page_of(
    rows: Sequence[T],
    page_index: int,
    page_size: int,
    *,
    record_count: str = "total",
    max_page_size: int | None = None,
) -> tuple[int, list[T]]:
    """Return ``(RecordCount, page)`` for 1-based ``PageIndex`` / ``PageSize`` paging.

    :param rows: every row the request matches, in answer order.
    :param page_index: ``Paging.PageIndex``, from 1.
    :param page_size: ``Paging.PageSize`` as asked.
    :param record_count: ``"total"`` or ``"page"``, as for :func:`page_of`.
    :param max_page_size: largest page served, silently applied (pages are counted in
        served rows); ``None`` for none.
    :raises ValueError: for a page index or size below 1, or an unknown reading.
    """
    if record_count not in RECORD_COUNTS:
        raise ValueError(f"record_count must be one of {RECORD_COUNTS}, got {record_count!r}")
    if page_index < 1:
        raise ValueError(f"Paging.PageIndex starts at 1, got {page_index}")
    if page_size < 1:
        raise ValueError(f"Paging.PageSize must be at least 1, got {page_size}")
    size = min(page_size, max_page_size) if max_page_size else page_size
    first = (page_index - 1) * size
    page = list(rows[first : first + size])
    count = len(rows) if record_count == "total" else len(page)
    return count, page
