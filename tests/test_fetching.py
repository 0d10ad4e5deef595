"""The loops of :mod:`airflow_provider_leadact.fetching` in-process, fed by plain callables."""

from __future__ import annotations

import threading
import time

import pytest

from airflow_provider_leadact.endpoints import LeadsPage
from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.fetching import fetch_concurrently, modified_lead_ids


def pages_of(ids: list[str], page_size: int, record_count: int | None) -> dict[int, LeadsPage]:
    chunks = [ids[start : start + page_size] for start in range(0, len(ids), page_size)] or [[]]
    return {n: LeadsPage(record_count, chunk, len(chunk)) for n, chunk in enumerate(chunks, start=1)}


@pytest.mark.parametrize("record_count", [None, 7])
def test_leads_are_paged_until_a_short_page_each_once_in_order(record_count):
    ids = [f"lead-{n}" for n in range(7)]
    pages = pages_of([*ids[:3], ids[0], *ids[3:]], 3, record_count)
    asked: list[int] = []

    def fetch(index: int) -> LeadsPage:
        asked.append(index)
        return pages[index]

    assert modified_lead_ids(fetch, page_size=3, max_pages=10, what="a day") == ids
    assert asked == [1, 2, 3]


def test_paging_stops_when_the_ids_reach_the_record_count():
    pages = pages_of([f"lead-{n}" for n in range(6)], 3, 6)
    asked: list[int] = []
    modified_lead_ids(lambda index: asked.append(index) or pages[index], page_size=3, max_pages=10, what="a day")
    assert asked == [1, 2]  # a full page, but every lead counted: no empty third page asked for


def test_paging_that_does_not_end_is_an_error_naming_the_interval():
    with pytest.raises(LeadSquaredError, match="a day: still paging after 4 pages"):
        modified_lead_ids(lambda index: LeadsPage(None, [f"lead-{index}"], 1), page_size=1, max_pages=4, what="a day")


def test_every_id_is_fetched_once_with_at_most_the_target_in_flight():
    in_flight, most = 0, 0
    lock = threading.Lock()

    def fetch(lead: str) -> str:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return lead.upper()

    ids = [f"lead-{n}" for n in range(20)]
    fetched = dict(fetch_concurrently(ids, fetch, concurrency=lambda: 3, max_workers=8))
    assert fetched == {lead: lead.upper() for lead in ids} and most <= 3


def test_a_failed_fetch_stops_the_iteration_and_leads_not_started_are_dropped():
    started: list[str] = []

    def fetch(lead: str) -> str:
        started.append(lead)
        if lead == "lead-1":
            raise LeadSquaredError("lead-1 failed")
        return lead

    ids = [f"lead-{n}" for n in range(50)]
    with pytest.raises(LeadSquaredError, match="lead-1 failed"):
        dict(fetch_concurrently(ids, fetch, concurrency=lambda: 2, max_workers=2))
    assert len(started) < len(ids)
