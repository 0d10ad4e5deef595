"""Each reading of Paging.Offset, and the detector that names it, against the sandbox's paging.

The server side is :func:`page_of`, the sandbox's own semantics, called in-process.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.exceptions import LeadSquaredPagingError
from airflow_provider_leadact.offset_readings import (
    READINGS,
    OffsetDetector,
    OffsetReading,
    OneBasedPages,
    RowOffsets,
    ZeroBasedPages,
    reading_after,
)
from airflow_provider_leadact.sandbox.page_readings import OFFSET_MODES, page_of

SERVERS = st.fixed_dictionaries(
    {
        "n": st.integers(0, 80),
        "size": st.integers(1, 15),
        "cap": st.one_of(st.none(), st.integers(1, 15)),
        "mode": st.sampled_from(OFFSET_MODES),
    }
)


def rows_of(n: int) -> list[dict[str, str]]:
    return [{"Id": f"a{i:03d}"} for i in range(n)]


def follow(reading: OffsetReading, rows: list[dict[str, str]], server: dict) -> list[dict[str, str]]:
    """Page on under ``reading`` until an empty page; every row the server returned, in order."""
    out = []
    for _ in range(200):
        offset = reading.next_offset
        _, page = page_of(rows, offset, server["size"], offset_mode=server["mode"], row_cap=server["cap"])
        if not page:
            return out
        out.extend(page)
        reading.update_state(offset, page)
    raise AssertionError("paging did not end")


def test_the_readings_are_the_sandboxs() -> None:
    assert set(READINGS) == set(OFFSET_MODES)


@settings(max_examples=300, deadline=None)
@given(server=SERVERS)
def test_the_servers_own_reading_pages_every_row_once_in_order(server) -> None:
    rows = rows_of(server["n"])
    assert follow(READINGS[server["mode"]](), rows, server) == rows


@pytest.mark.parametrize(
    ("reading", "offsets"),
    [(ZeroBasedPages, [1, 2, 3]), (OneBasedPages, [2, 3, 4]), (RowOffsets, [10, 17, 27])],
)
def test_each_reading_advances_from_page_one(reading, offsets) -> None:
    # Pages of 10, then a capped 7, then 10 again: only row offsets count the rows returned.
    state, seen = reading(), []
    for offset, length in zip([0, *offsets], [10, 7, 10], strict=False):
        state.update_state(offset, rows_of(length))
        seen.append(state.next_offset)
    assert seen == offsets


@settings(max_examples=300, deadline=None)
@given(server=SERVERS)
def test_the_reading_the_detector_names_pages_the_rest_exactly(server) -> None:
    rows = rows_of(server["n"])
    kw = {"offset_mode": server["mode"], "row_cap": server["cap"]}
    _, first = page_of(rows, 0, server["size"], **kw)
    detector = OffsetDetector(first, "lead")
    _, probe = page_of(rows, detector.next_offset, server["size"], **kw)
    detector.update_state(detector.next_offset, probe)
    if not probe:
        assert detector.reading is None
        return
    assert detector.reading is not None
    # Pages of one row read alike as 0-based pages and row offsets: either name is right.
    alike = {"page0", "row"} if len(first) == 1 else set()
    assert detector.reading.name in {server["mode"]} | alike
    got = {row["Id"] for row in first + probe}
    got |= {row["Id"] for row in follow(detector.reading, rows, server)}
    assert got == {row["Id"] for row in rows}


def test_a_probe_overlapping_page_one_otherwise_names_no_reading() -> None:
    first = rows_of(5)
    detector = OffsetDetector(first, "lead 42")
    with pytest.raises(LeadSquaredPagingError, match=r"lead 42: cannot tell how the server reads Paging\.Offset"):
        detector.update_state(1, [first[3], {"Id": "new"}])


def test_reading_after_is_advanced_past_the_page() -> None:
    assert reading_after("row", 1, rows_of(4)).next_offset == 5
    assert reading_after("page1", 1, rows_of(4)).next_offset == 2
    assert reading_after("page0", 1, rows_of(4)).next_offset == 2
