"""The sandbox's paging readings as an in-process server, and a client paging it to the end."""

from __future__ import annotations

from airflow_provider_leadact.paging import ServerProfile, iter_activity_pages
from airflow_provider_leadact.sandbox.page_readings import page_of


class Server:
    """The sandbox's paging over a list of rows, counting calls."""

    def __init__(self, n: int, offset_mode: str, record_count: str, row_cap: int | None):
        self.rows = [{"Id": f"a{i:05d}", "n": i} for i in range(n)]
        self.kw = {"offset_mode": offset_mode, "record_count": record_count, "row_cap": row_cap}
        self.calls = 0

    def fetch(self, offset: int, row_count: int):
        self.calls += 1
        return page_of(self.rows, offset, row_count, **self.kw)


def fetch_all(server: Server, page_size: int, profile: ServerProfile | None = None, max_pages: int = 10_000):
    profile = profile if profile is not None else ServerProfile()
    out = []
    for page in iter_activity_pages(
        server.fetch, page_size=page_size, profile=profile, max_pages=max_pages, lead_id="lead"
    ):
        out.extend(page)
    return out
