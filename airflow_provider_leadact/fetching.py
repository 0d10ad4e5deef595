"""Loops over the endpoints that are not pagers of activities: many leads fetched at once in a
bounded pool, and the pages of the leads modified in an interval.

Free of HTTP, like :mod:`.paging` and :mod:`.listing`: each loop receives the endpoint's
method (:mod:`.endpoints`) or the per-lead fetch as a callable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, TypeVar

from airflow_provider_leadact.exceptions import LeadSquaredError

if TYPE_CHECKING:
    from airflow_provider_leadact.endpoints import LeadsPage

T = TypeVar("T")


def fetch_concurrently(
    ids: Sequence[str], fetch: Callable[[str], T], *, concurrency: Callable[[], int], max_workers: int
) -> Iterator[tuple[str, T]]:
    """Yield ``(id, fetch(id))`` for every id, as each completes, from a bounded pool of threads.

    A fetch that raises stops the iteration with its error (results already yielded stay
    yielded); ids not yet started are then dropped at once instead of being fetched for nothing.

    :param concurrency: how many fetches to keep in flight, asked before each refill: the
        target grows if calls turn out slow.
    :param max_workers: the most threads.
    """
    pending: dict[Future[T], str] = {}
    position = 0
    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="leadact")
    try:
        while position < len(ids) or pending:
            # Leads start together from the first: the budget paces their calls, and the paging
            # reading is probed once for all of them (see paging.ServerProfile.claim_probe).
            while position < len(ids) and len(pending) < concurrency():
                pending[pool.submit(fetch, ids[position])] = ids[position]
                position += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                key = pending.pop(future)
                yield key, future.result()
    finally:
        # Fetches in flight finish their call; those not started are cancelled.
        pool.shutdown(wait=not pending, cancel_futures=True)


def modified_lead_ids(
    fetch_page: Callable[[int], LeadsPage], *, page_size: int, max_pages: int, what: str
) -> list[str]:
    """The ids of every lead on the pages of ``Leads.RecentlyModified``, each once, in order.

    Pages are asked from index 1 until a short or empty page, or until the ids reach the
    answer's ``RecordCount``.

    :param fetch_page: one page by its index (``LeadSquaredApi.leads_page`` of an interval).
    :param page_size: the most leads a page holds.
    :param max_pages: the most pages to ask for.
    :param what: the interval, for the error.
    :raises LeadSquaredError: still paging after ``max_pages`` pages.
    """
    ids: dict[str, None] = {}
    for page_index in range(1, max_pages + 1):
        page = fetch_page(page_index)
        ids.update(dict.fromkeys(page.lead_ids))  # a lead seen on an earlier page keeps its place
        total = page.record_count
        if not page.size or page.size < page_size or (total is not None and len(ids) >= total):
            return list(ids)
    raise LeadSquaredError(f"{what}: still paging after {max_pages} pages")
