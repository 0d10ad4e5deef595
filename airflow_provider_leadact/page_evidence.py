"""What a server's answers prove about its pages, kept alike by the per-lead pager and the listing.

Neither "Get Activities of a Lead" nor "Get Activities by Date Range" says whether
``RecordCount`` is the total or the page's count, nor how large a page the server hands out
(it may silently return fewer rows than asked). Both pagers learn the same two facts from the
answers, and end a query by the same rule once they know them.
"""

from __future__ import annotations

from dataclasses import dataclass


def proves_totals(record_count: int | None, page_len: int) -> bool:
    """Whether an answer proves that ``RecordCount`` is the total: a page's own count cannot exceed its rows."""
    return record_count is not None and record_count > page_len


@dataclass
class PageEvidence:
    """The facts about a server's pages that its answers prove, shared by the pages of many queries.

    :param totals: True when ``RecordCount`` is the query's total, False when it is the page's
        count, None while unknown.
    :param full_page: the longest page seen: as a server caps every page alike, a shorter page
        is the last one of its query.
    """

    totals: bool | None = None
    full_page: int = 0

    def is_last_page(self, record_count: int | None, page_len: int, got: int, asked: int | None = None) -> bool:
        """Whether a page that has rows is the last of its query.

        :param record_count: the page's ``RecordCount`` (None when it had none).
        :param page_len: the page's rows.
        :param got: the query's rows fetched so far, this page's included.
        :param asked: the page size asked for, when a page that long ends nothing even if a
            longer one was seen; None to judge by the longest page alone.
        """
        if self.totals and record_count is not None:
            return got >= record_count
        # Every page but the last is as long as the server's cap (or the size asked).
        return page_len < (self.full_page if asked is None else min(asked, self.full_page))
