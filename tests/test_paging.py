"""Paging is exact under every reading of Paging.Offset and RecordCount, with any row cap.

The server side is the sandbox's own paging semantics (:func:`page_of`), called in-process so
that hypothesis can explore thousands of combinations quickly; the HTTP path is covered by
tests/hooks against the running sandbox.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.exceptions import LeadSquaredPagingError
from airflow_provider_leadact.paging import ServerProfile, iter_activity_pages, record_count_of
from tests.support.paging import Server, fetch_all

MODES = list(itertools.product(["page0", "page1", "row"], ["total", "page"]))


@settings(max_examples=400, deadline=None)
@given(
    n=st.integers(0, 130),
    page_size=st.integers(1, 40),
    cap=st.one_of(st.none(), st.integers(1, 40)),
    mode=st.sampled_from(MODES),
    leads=st.lists(st.integers(0, 90), max_size=3),
)
def test_every_activity_exactly_once_in_order(n, page_size, cap, mode, leads):
    offset_mode, record_count = mode
    profile = ServerProfile()
    # Several leads through one profile: what is learned from one must not break the next.
    for count in [n, *leads]:
        server = Server(count, offset_mode, record_count, cap)
        assert fetch_all(server, page_size, profile) == server.rows


@pytest.mark.parametrize(("offset_mode", "record_count"), MODES)
def test_probe_learns_the_offset_reading(offset_mode, record_count):
    profile = ServerProfile()
    server = Server(95, offset_mode, record_count, None)
    assert fetch_all(server, 10, profile) == server.rows
    assert profile.offset_mode == offset_mode
    assert profile.totals is (record_count == "total")


@pytest.mark.parametrize("offset_mode", ["page0", "page1", "row"])
def test_single_page_lead_costs_one_call_once_totals_are_known(offset_mode):
    profile = ServerProfile()
    fetch_all(Server(250, offset_mode, "total", None), 100, profile)
    small = Server(7, offset_mode, "total", None)
    assert fetch_all(small, 100, profile) == small.rows
    assert small.calls == 1


def test_single_page_lead_costs_one_call_when_declared_total():
    small = Server(7, "page0", "total", None)
    assert fetch_all(small, 100, ServerProfile(totals=True)) == small.rows
    assert small.calls == 1


@pytest.mark.parametrize("offset_mode", ["page0", "page1", "row"])
def test_multi_page_lead_costs_no_wasted_call_with_totals(offset_mode):
    profile = ServerProfile()
    fetch_all(Server(30, offset_mode, "total", None), 10, profile)  # learn the reading
    server = Server(1234, offset_mode, "total", None)
    assert fetch_all(server, 100, profile) == server.rows
    assert server.calls == 13  # ceil(1234 / 100): not one more


def test_capped_pages_do_not_end_paging_early():
    # Asks 1000, the server silently gives 100 and reports the total: all 1500 arrive.
    for offset_mode in ("page0", "page1", "row"):
        server = Server(1500, offset_mode, "total", 100)
        assert fetch_all(server, 1000) == server.rows


def test_capped_pages_with_page_counts_do_not_end_paging_early():
    # The hardest case: RecordCount says only "this page has 100" and the page is short of
    # the 1000 asked for; paging must still continue to the end.
    for offset_mode in ("page0", "page1", "row"):
        server = Server(1500, offset_mode, "page", 100)
        assert fetch_all(server, 1000) == server.rows


def test_pages_are_bounded_when_the_server_never_ends():
    class Endless:
        calls = 0

        def fetch(self, offset, row_count):
            self.calls += 1
            return None, [{"Id": f"x{offset}-{i}"} for i in range(row_count)]

    endless = Endless()
    with pytest.raises(LeadSquaredPagingError, match="max_pages"):
        fetch_all(endless, 10, max_pages=50)
    assert endless.calls == 50


def test_a_reading_that_stops_holding_is_detected_not_silently_lossy():
    # Learned (here: preset) 1-based pages, but the server reads row offsets: the next page
    # repeats rows already fetched, and that fails loudly.
    server = Server(50, "row", "page", None)
    with pytest.raises(LeadSquaredPagingError, match="no longer pages as 'page1'"):
        fetch_all(server, 10, ServerProfile(offset_mode="page1"))


@pytest.mark.parametrize(
    ("sent", "read"),
    [(12, 12), ("12", 12), (" 12 ", 12), ("0", 0), (0, 0), (None, None), ("", None), ("-1", None), (-1, None),
     ("12.0", None), ("twelve", None), (True, None), ("\u0661\u0662", None), ([12], None)],
)  # fmt: skip
def test_record_count_as_a_number_or_a_string_of_digits(sent, read):
    assert record_count_of(sent) == read


@pytest.mark.parametrize("offset_mode", ["page0", "page1", "row"])
def test_record_count_sent_as_a_string_is_the_total_it_says(offset_mode):
    server = Server(250, offset_mode, "total", None)

    def fetch(offset, row_count):
        count, rows = server.fetch(offset, row_count)
        return str(count), rows

    profile = ServerProfile()
    pages = list(iter_activity_pages(fetch, page_size=100, profile=profile, max_pages=100, lead_id="lead"))
    assert [row for page in pages for row in page] == server.rows
    assert profile.totals is True and profile.offset_mode == offset_mode
