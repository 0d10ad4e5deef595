"""page_of: the paging readings a client must survive, without any server."""

from __future__ import annotations

import pytest

from airflow_provider_leadact.sandbox import index_page_of, page_of

ROWS = list(range(103))


def test_no_paging_returns_the_default_rows() -> None:
    assert page_of(ROWS, None, None) == (103, ROWS[:25])
    assert page_of(ROWS, None, None, default_rows=10, record_count="page") == (10, ROWS[:10])
    assert page_of(ROWS[:3], None, None) == (3, ROWS[:3])


@pytest.mark.parametrize(
    ("mode", "offset", "expected"),
    [
        ("page0", 0, ROWS[0:10]),
        ("page0", 1, ROWS[10:20]),
        ("page0", 10, ROWS[100:103]),
        ("page0", 11, []),
        ("page1", 0, ROWS[0:10]),
        ("page1", 1, ROWS[0:10]),
        ("page1", 2, ROWS[10:20]),
        ("page1", 11, ROWS[100:103]),
        ("row", 0, ROWS[0:10]),
        ("row", 1, ROWS[1:11]),
        ("row", 95, ROWS[95:103]),
        ("row", 103, []),
    ],
)
def test_offset_modes(mode: str, offset: int, expected: list[int]) -> None:
    count, page = page_of(ROWS, offset, 10, offset_mode=mode)
    assert page == expected
    assert count == 103


@pytest.mark.parametrize(("mode", "first", "step"), [("page0", 0, 1), ("page1", 1, 1), ("row", 0, 7)])
def test_every_row_exactly_once_in_each_mode(mode: str, first: int, step: int) -> None:
    seen: list[int] = []
    offset = first
    while True:
        _, page = page_of(ROWS, offset, 7, offset_mode=mode)
        seen.extend(page)
        if len(page) < 7:
            break
        offset += step
    assert seen == ROWS


def test_record_count_readings() -> None:
    assert page_of(ROWS, 10, 10, record_count="total")[0] == 103
    assert page_of(ROWS, 10, 10, record_count="page") == (3, ROWS[100:])
    assert page_of(ROWS, 50, 10, record_count="page") == (0, [])


def test_row_cap_silently_shrinks_pages() -> None:
    assert page_of(ROWS, 0, 50, row_cap=20) == (103, ROWS[:20])
    # The page number counts capped pages: page 1 starts after the 20 rows of page 0.
    assert page_of(ROWS, 1, 50, row_cap=20)[1] == ROWS[20:40]
    assert page_of(ROWS, 30, 50, row_cap=20, offset_mode="row")[1] == ROWS[30:50]
    assert page_of(ROWS, 0, 50, row_cap=None)[1] == ROWS[:50]


def test_partial_paging_parameters() -> None:
    # Only an offset: pages of the default size; only a row count: the first page.
    assert page_of(ROWS, 1, None)[1] == ROWS[25:50]
    assert page_of(ROWS, None, 5)[1] == ROWS[:5]
    assert page_of(ROWS, None, 5, offset_mode="page1")[1] == ROWS[:5]


def test_works_on_any_sequence() -> None:
    assert page_of(tuple("abcdef"), 1, 2) == (6, ["c", "d"])


@pytest.mark.parametrize(
    ("offset", "row_count", "options", "message"),
    [
        (-1, 10, {}, "Offset"),
        (0, 0, {}, "RowCount"),
        (0, -5, {}, "RowCount"),
        (0, 10, {"offset_mode": "page2"}, "offset_mode"),
        (0, 10, {"record_count": "both"}, "record_count"),
        (0, 10, {"row_cap": 0}, "row_cap"),
        (None, None, {"default_rows": 0}, "default_rows"),
    ],
)
def test_invalid_arguments(offset: int | None, row_count: int | None, options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        page_of(ROWS, offset, row_count, **options)  # type: ignore[arg-type]


def test_index_pages_count_from_one_and_cover_every_row_once() -> None:
    seen: list[int] = []
    for index in range(1, 13):
        count, page = index_page_of(ROWS, index, 10)
        assert count == 103
        seen.extend(page)
    assert seen == ROWS
    assert index_page_of(ROWS, 11, 10) == (103, ROWS[100:])
    assert index_page_of(ROWS, 12, 10) == (103, [])


def test_index_pages_readings_and_cap() -> None:
    assert index_page_of(ROWS, 11, 10, record_count="page") == (3, ROWS[100:])
    # The cap shrinks every page alike, so page 2 starts after the 20 rows of page 1.
    assert index_page_of(ROWS, 2, 50, max_page_size=20) == (103, ROWS[20:40])
    assert index_page_of(ROWS, 1, 50, max_page_size=None)[1] == ROWS[:50]


@pytest.mark.parametrize(
    ("page_index", "page_size", "options", "message"),
    [(0, 10, {}, "PageIndex"), (1, 0, {}, "PageSize"), (1, 10, {"record_count": "all"}, "record_count")],
)
def test_index_pages_refuse_bad_arguments(
    page_index: int, page_size: int, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        index_page_of(ROWS, page_index, page_size, **options)  # type: ignore[arg-type]
