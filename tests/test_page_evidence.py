"""The page evidence the per-lead pager and the listing share: when RecordCount is a total, when a page is the last."""

from __future__ import annotations

import pytest

from airflow_provider_leadact.page_evidence import PageEvidence, proves_totals


@pytest.mark.parametrize(
    ("record_count", "page_len", "proved"),
    [(None, 0, False), (0, 0, False), (10, 10, False), (3, 10, False), (11, 10, True), (1, 0, True)],
)
def test_only_a_count_above_the_pages_rows_proves_a_total(record_count, page_len, proved) -> None:
    assert proves_totals(record_count, page_len) is proved


@pytest.mark.parametrize("totals", [None, False])
def test_without_totals_a_page_shorter_than_the_longest_seen_is_the_last(totals) -> None:
    evidence = PageEvidence(totals=totals, full_page=100)
    assert evidence.is_last_page(100, 99, got=1099)
    assert not evidence.is_last_page(100, 100, got=1100)
    assert not evidence.is_last_page(None, 100, got=100)


def test_a_page_as_long_as_asked_is_not_the_last_even_after_a_longer_one() -> None:
    # The listing lowers its page size after heavy windows: a page of the new size goes on.
    evidence = PageEvidence(full_page=1000)
    assert not evidence.is_last_page(None, 200, got=200, asked=200)
    assert evidence.is_last_page(None, 199, got=199, asked=200)
    assert evidence.is_last_page(None, 200, got=200)


def test_with_totals_the_count_decides() -> None:
    evidence = PageEvidence(totals=True, full_page=100)
    assert not evidence.is_last_page(250, 50, got=200)  # short, yet the total is not reached
    assert evidence.is_last_page(250, 100, got=250)
    assert evidence.is_last_page(None, 50, got=200)  # no count on this page: by its length
