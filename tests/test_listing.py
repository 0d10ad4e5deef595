"""The date-range listing is exact under every reading of the server, rows moving or not.

The server is a model of "Get Activities by Date Range" and "Get Activity Change History" on
the sandbox's own paging (``index_page_of``), called in-process so that hypothesis can explore
thousands of combinations: RecordCount as total or page count, any silent PageSize cap, a
filter on ModifiedOn or CreatedOn, ToDate inclusive or exclusive, seconds holding more than a
page, and activities edited "now" while the window is being paged. The HTTP path is covered
against the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_leadact.exceptions import LeadSquaredConfigError, LeadSquaredPagingError
from airflow_provider_leadact.listing import (
    CREATED_ON,
    MODIFIED_ON,
    ChangedListing,
    ListingProfile,
    api_time,
    changed_in_lead,
    iter_changed_rows,
    list_changed,
    parse_api_time,
)
from airflow_provider_leadact.sandbox.page_readings import index_page_of
from airflow_provider_leadact.validation import Window

T0 = datetime(2025, 1, 1)
NOW = datetime(2025, 6, 1)  # edits made while paging land here, after every window


class Server:
    """Activities of several leads, listed by date range as a server with the given reading would."""

    def __init__(
        self,
        times: list[tuple[int, int]],
        *,
        record_count: str = "total",
        cap: int | None = None,
        filter_on: str = MODIFIED_ON,
        to_inclusive: bool = True,
        churn: int = 0,
    ) -> None:
        self.activities = {}
        self.changes = []
        for n, (created, lag) in enumerate(times):
            activity = {
                "Id": f"a{n:05d}",
                "RelatedProspectId": f"lead-{n % 7}",
                CREATED_ON: api_time(T0 + timedelta(seconds=created)),
                MODIFIED_ON: api_time(T0 + timedelta(seconds=created + lag)),
            }
            self.activities[activity["Id"]] = activity
            if lag:
                # Edited later, or posted with a date of its own (backdated or ahead): the
                # system wrote it at ModifiedOn, which the change history records.
                self.changes.append(self.change(activity))
        self.record_count, self.cap, self.filter_on = record_count, cap, filter_on
        self.to_inclusive, self.churn = to_inclusive, churn
        self.calls = 0
        self.edited: set[str] = set()

    @staticmethod
    def change(activity: dict) -> dict:
        return {"ActivityId": activity["Id"], "RelatedProspectId": activity["RelatedProspectId"],
                CREATED_ON: activity[CREATED_ON], MODIFIED_ON: activity[MODIFIED_ON]}  # fmt: skip

    def truth(self, window: Window) -> set[str]:
        return {k for k, a in self.activities.items() if parse_api_time(a[MODIFIED_ON]) in window}

    def _edit(self, rows: list[dict]) -> None:
        # Like the sandbox: the rows just answered are edited "now", which shifts the rows the
        # client has not seen yet towards pages it has already read.
        for row in rows[: self.churn]:
            activity = self.activities[row["Id"]]
            if activity[MODIFIED_ON] != api_time(NOW):
                activity[MODIFIED_ON] = api_time(NOW)
                self.edited.add(activity["Id"])
                self.changes.append(self.change(activity))

    def _between(self, value: str, lo: str, hi: str) -> bool:
        moment = parse_api_time(value)
        return parse_api_time(lo) <= moment and (
            moment <= parse_api_time(hi) if self.to_inclusive else moment < parse_api_time(hi)
        )

    def _page(self, rows: list, page_index: int, page_size: int) -> tuple[int, list]:
        # The sandbox's own PageIndex paging, RecordCount reading and silent cap.
        count, page = index_page_of(rows, page_index, page_size, record_count=self.record_count, max_page_size=self.cap)
        return count, [dict(r) for r in page]

    def fetch(self, lo: str, hi: str, column: str, page_index: int, page_size: int):
        self.calls += 1
        rows = [a for a in self.activities.values() if self._between(a[self.filter_on], lo, hi)]
        rows.sort(key=lambda a: (parse_api_time(a[column]), a["Id"]))
        count, page = self._page(rows, page_index, page_size)
        self._edit(page)
        return count, page

    def fetch_changes(self, lo: str, hi: str, page_index: int, page_size: int):
        self.calls += 1
        rows = [c for c in self.changes if self._between(c[MODIFIED_ON], lo, hi)]
        return self._page(rows, page_index, page_size)

    def lead_history(self, lead: str) -> list[dict]:
        """A lead's activities as the per-lead call returns them: newest first by CreatedOn."""
        rows = [dict(a) for a in self.activities.values() if a["RelatedProspectId"] == lead]
        return sorted(rows, key=lambda a: (a[CREATED_ON], a["Id"]), reverse=True)


def written(server: Server, window: Window, page_size: int, *, profile: ListingProfile | None = None,
            complete=lambda row: True) -> list[str]:  # fmt: skip
    """The ids the listing path writes: complete rows as listed, then the planned leads fetched."""
    listing = ChangedListing(server.fetch, server.fetch_changes, window, page_size=page_size,
                             profile=profile or ListingProfile(), max_pages=10_000, complete=complete)  # fmt: skip
    ids = [row["Id"] for _, row in listing.rows()]
    for lead, plan in listing.refetch.items():
        history = changed_in_lead(server.lead_history(lead), window, plan.floor)
        ids += [a["Id"] for a in history if listing.keep(plan, a)]
    return ids


def listed(server: Server, window: Window, page_size: int, profile: ListingProfile | None = None) -> list[str]:
    rows = iter_changed_rows(
        server.fetch, window, page_size=page_size, profile=profile or ListingProfile(), max_pages=10_000
    )
    return [row["Id"] for row in rows]


# Lags: edited later (positive), never edited (0), or CreatedOn set by a user: backdated
# (positive too) or dated ahead of the system's time (negative).
activity_times = st.lists(
    st.tuples(st.integers(0, 120), st.sampled_from([0, 0, 0, 1, 5, 40, 200, -1, -3, -40, -200])), max_size=160
)
readings = st.fixed_dictionaries(
    {
        "record_count": st.sampled_from(["total", "page"]),
        "cap": st.one_of(st.none(), st.integers(1, 30)),
        "filter_on": st.sampled_from([MODIFIED_ON, CREATED_ON]),
        "to_inclusive": st.booleans(),
    }
)


@settings(max_examples=400, deadline=None)
@given(times=activity_times, reading=readings, page_size=st.integers(1, 30),
       bounds=st.tuples(st.integers(-5, 130), st.integers(1, 200)),
       complete=st.sampled_from(["", "13579", "0123456789"]))  # fmt: skip
def test_every_changed_activity_exactly_once(times, reading, page_size, bounds, complete) -> None:
    server = Server(times, **reading)
    window = Window.of(T0 + timedelta(seconds=bounds[0]), T0 + timedelta(seconds=bounds[0] + bounds[1]))
    profile = ListingProfile()
    ids = written(server, window, page_size, profile=profile, complete=lambda row: row["Id"][-1] not in complete)
    assert len(ids) == len(set(ids))
    assert set(ids) == server.truth(window)
    assert profile.filter_on in (None, reading["filter_on"])
    # The per-lead path plans exactly the leads of the window's changes.
    leads = list_changed(server.fetch, server.fetch_changes, window, page_size=page_size,
                         profile=ListingProfile(), max_pages=10_000).lead_floors()  # fmt: skip
    assert set(leads) == {server.activities[i]["RelatedProspectId"] for i in server.truth(window)}


@settings(max_examples=300, deadline=None)
@given(times=activity_times, reading=readings, page_size=st.integers(1, 30), churn=st.integers(1, 4),
       bounds=st.tuples(st.integers(-5, 130), st.integers(1, 200)))  # fmt: skip
def test_rows_edited_while_paging_never_hide_others(times, reading, page_size, churn, bounds) -> None:
    server = Server(times, churn=churn, **reading)
    window = Window.of(T0 + timedelta(seconds=bounds[0]), T0 + timedelta(seconds=bounds[0] + bounds[1]))
    before = server.truth(window)
    ids = written(server, window, page_size)
    # Every activity in the window before and after the listing is found once; nothing outside it.
    assert len(ids) == len(set(ids))
    assert before - server.edited <= set(ids) <= before


@pytest.mark.parametrize("filter_on", [MODIFIED_ON, CREATED_ON])
def test_a_second_holding_more_than_a_page(filter_on) -> None:
    # 95 activities in one second, pages capped at 10 with page counts: all arrive, once.
    server = Server([(30, 0)] * 95 + [(31, 0)] * 3 + [(5, 0)], record_count="page", cap=10, filter_on=filter_on)
    window = Window.of(T0, T0 + timedelta(minutes=1))
    ids = listed(server, window, 1000)
    assert sorted(ids) == sorted(server.truth(window)) and len(ids) == 99


def test_one_page_window_costs_one_call_once_totals_are_known() -> None:
    server = Server([(s, 0) for s in range(50)])
    profile = ListingProfile()
    listed(server, Window.of(T0, T0 + timedelta(seconds=20)), 100, profile)
    assert profile.totals is None  # one page, RecordCount equal to its rows: not yet known
    listed(Server([(s, 0) for s in range(500)]), Window.of(T0, T0 + timedelta(hours=1)), 100, profile)
    assert profile.totals is True
    server.calls = 0
    assert len(listed(server, Window.of(T0, T0 + timedelta(seconds=30)), 100, profile)) == 30
    assert server.calls == 1


def test_the_filter_column_is_learned_from_the_answers() -> None:
    # Created at 0, edited at 40: listed for [30, 60) only by a ModifiedOn filter.
    modified = ListingProfile()
    assert listed(Server([(0, 40), (35, 0)]), Window.of(T0 + timedelta(seconds=30), T0 + timedelta(seconds=60)), 10,
                  modified) == ["a00000", "a00001"]  # fmt: skip
    assert modified.filter_on == MODIFIED_ON and modified.sort_column == MODIFIED_ON
    created = ListingProfile()
    assert listed(Server([(35, 40)], filter_on=CREATED_ON), Window.of(T0 + timedelta(seconds=30),
                  T0 + timedelta(seconds=60)), 10, created) == []  # fmt: skip
    assert created.filter_on == CREATED_ON


def test_long_windows_are_split_into_chunks() -> None:
    asked = []
    server = Server([(day * 86400, 0) for day in range(40)])

    def fetch(lo, hi, column, page_index, page_size):
        asked.append((lo, hi))
        return server.fetch(lo, hi, column, page_index, page_size)

    window = Window.of(T0, T0 + timedelta(days=40))
    ids = list(iter_changed_rows(fetch, window, page_size=1000, profile=ListingProfile(), max_pages=100))
    assert len(ids) == 40
    spans = [parse_api_time(hi) - parse_api_time(lo) for lo, hi in asked]
    assert max(spans) <= timedelta(days=14)


def test_an_unordered_listing_fails_loudly() -> None:
    def fetch(lo, hi, column, page_index, page_size):
        rows = [{"Id": "b", CREATED_ON: "2025-01-01 00:00:09", MODIFIED_ON: "2025-01-01 00:00:09"},
                {"Id": "a", CREATED_ON: "2025-01-01 00:00:01", MODIFIED_ON: "2025-01-01 00:00:01"}]  # fmt: skip
        return 2, rows

    with pytest.raises(LeadSquaredPagingError, match="not ordered"):
        listed_rows = iter_changed_rows(
            fetch, Window.of(T0, T0 + timedelta(minutes=1)), page_size=10, profile=ListingProfile(), max_pages=5
        )
        list(listed_rows)


def test_a_listing_that_never_ends_is_bounded() -> None:
    def fetch(lo, hi, column, page_index, page_size):
        moment = api_time(T0 + timedelta(seconds=page_index))
        return None, [
            {"Id": f"x{lo}{page_index}{i}", CREATED_ON: moment, MODIFIED_ON: moment} for i in range(page_size)
        ]

    with pytest.raises(LeadSquaredPagingError, match="max_pages"):
        list(iter_changed_rows(fetch, Window.of(T0, T0 + timedelta(days=1)), page_size=5,
                               profile=ListingProfile(), max_pages=30))  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2025-01-02T00:00:00", "2025-01-02T00:00:00", "is empty"),
        ("2025-01-03T00:00:00", "2025-01-02T00:00:00", "is reversed"),
        ("yesterday-ish", "2025-01-02T00:00:00", "is not a date"),
        ("", "2025-01-02T00:00:00", "render to nothing"),
        ("2025-01-01", "   ", "render to nothing"),
        (None, "2025-01-02T00:00:00", "must be a date and time"),
        (20250101, "2025-01-02T00:00:00", "must be a date and time"),
    ],
)
def test_bad_windows_are_refused(start, end, message) -> None:
    with pytest.raises(LeadSquaredConfigError, match=message):
        Window.of(start, end)


def test_windows_are_utc_and_half_open() -> None:
    window = Window.of("2025-01-02T05:30:00+05:30", datetime(2025, 1, 2, 1))
    assert window.start == datetime(2025, 1, 2) and window.end == datetime(2025, 1, 2, 1)
    assert datetime(2025, 1, 2) in window and datetime(2025, 1, 2, 1) not in window


@pytest.mark.parametrize("record_count", ["total", "page"])
@pytest.mark.parametrize("filter_on", [MODIFIED_ON, CREATED_ON])
def test_a_crowded_second_edited_while_paged_loses_nothing(record_count, filter_on) -> None:
    # 50 activities in one second, pages of 10, and each answer's first 3 rows edited "now":
    # the second's later rows shift towards pages already read, and a second pass finds them.
    server = Server([(30, 0)] * 50 + [(31, 0)] * 3, record_count=record_count, cap=10, churn=3, filter_on=filter_on)
    window = Window.of(T0, T0 + timedelta(minutes=1))
    before = server.truth(window)
    ids = listed(server, window, 1000)
    assert len(ids) == len(set(ids))
    assert before - server.edited <= set(ids) <= before


def test_a_lead_is_read_until_its_history_cannot_hold_a_change() -> None:
    from airflow_provider_leadact.listing import changed_in_lead

    def activity(n: int, created: int, modified: int) -> dict:
        return {"Id": f"a{n}", CREATED_ON: api_time(T0 + timedelta(hours=created)),
                MODIFIED_ON: api_time(T0 + timedelta(hours=modified))}  # fmt: skip

    window = Window.of(T0 + timedelta(hours=10), T0 + timedelta(hours=20))
    read = []

    def history(rows):
        for row in rows:
            read.append(row["Id"])
            yield row

    newest_first = [activity(1, 30, 30), activity(2, 15, 15), activity(3, 5, 12), activity(4, 4, 4), activity(5, 3, 11)]
    floor = api_time(T0 + timedelta(hours=5))  # a3's CreatedOn, the oldest change in the window
    assert [a["Id"] for a in changed_in_lead(history(newest_first), window, floor)] == ["a2", "a3"]
    assert read == ["a1", "a2", "a3", "a4"]  # stopped at the first activity created before the floor
    # Not ordered by CreatedOn after all: the floor is not trusted, the lead is read to its end.
    read.clear()
    shuffled = [newest_first[1], newest_first[0], newest_first[3], newest_first[4], newest_first[2]]
    assert {a["Id"] for a in changed_in_lead(history(shuffled), window, floor)} == {"a2", "a3", "a5"}
    assert len(read) == 5


class HeavyServer(Server):
    """A server whose database gives up on a query matching more than ``heavy`` rows (HTTP 500)."""

    def __init__(self, times, *, heavy: int, **reading) -> None:
        super().__init__(times, **reading)
        self.heavy, self.failures, self.spans = heavy, 0, []

    def fetch(self, lo, hi, column, page_index, page_size):
        from airflow_provider_leadact.exceptions import LeadSquaredApiError

        self.spans.append(parse_api_time(hi) - parse_api_time(lo))
        matching = [a for a in self.activities.values() if self._between(a[self.filter_on], lo, hi)]
        if len(matching) > self.heavy:
            self.calls += 1
            self.failures += 1
            raise LeadSquaredApiError("MXDataAccessException: Timeout expired (HTTP 500)", status_code=500)
        return super().fetch(lo, hi, column, page_index, page_size)


@settings(max_examples=150, deadline=None)
@given(times=st.lists(st.tuples(st.integers(0, 6 * 3600), st.sampled_from([0, 0, 60, -60, 3000])), max_size=120),
       filter_on=st.sampled_from([MODIFIED_ON, CREATED_ON]), heavy=st.integers(8, 40))  # fmt: skip
def test_heavy_windows_are_split_and_stay_exact(times, filter_on, heavy) -> None:
    server = HeavyServer(times, heavy=heavy, filter_on=filter_on)
    window = Window.of(T0, T0 + timedelta(hours=6))
    profile = ListingProfile()
    try:
        ids = written(server, window, 1000, profile=profile)
    except Exception as exc:  # only when one 15-minute span alone holds more than the server answers
        from airflow_provider_leadact.listing import MIN_SPAN

        assert "the smallest asked for" in str(exc)
        assert any(
            sum(1 for a in server.activities.values() if lo <= parse_api_time(a[filter_on]) <= lo + MIN_SPAN) > heavy
            for lo in (T0 + timedelta(seconds=s) for s in range(0, 6 * 3600, 60))
        )
        return
    assert len(ids) == len(set(ids))
    assert set(ids) == server.truth(window)
    if server.failures:
        assert profile.span < timedelta(days=14)


def test_a_heavy_window_is_remembered_and_widened_when_light() -> None:
    # 200 activities in the first hour of a day, none after: the day as one query fails.
    server = HeavyServer([(s * 18, 0) for s in range(200)], heavy=100)
    profile = ListingProfile()
    day = Window.of(T0, T0 + timedelta(days=1))
    assert sorted(written(server, day, 1000, profile=profile)) == sorted(server.truth(day))
    assert server.failures and profile.span < timedelta(days=1)
    # A later listing starts about the span that worked (one doubling after a light query,
    # so at most one failure where the busy hour is met again), exact all the same.
    server.failures = 0
    hour = Window.of(T0, T0 + timedelta(hours=1))
    assert sorted(written(server, hour, 1000, profile=profile)) == sorted(server.truth(hour))
    assert server.failures <= 1
    # Light stretches widen the span again, step by step, up to the usual 14 days.
    quiet = Server([])
    for _ in range(12):
        written(quiet, Window.of(T0 + timedelta(days=2), T0 + timedelta(days=20)), 1000, profile=profile)
    assert profile.span == timedelta(days=14)


def test_the_filter_is_probed_once_and_shared() -> None:
    # No row proves the reading by its times alone (both inside the window); a probe settles it.
    shared: dict = {}
    for filter_on in (MODIFIED_ON, CREATED_ON):
        server = Server([(10, 20), (12, 0), (14, 0)] * 3, filter_on=filter_on)
        profile = ListingProfile(on_change=lambda learned: shared.update(learned.facts()))
        window = Window.of(T0, T0 + timedelta(minutes=1))
        assert sorted(written(server, window, 2, profile=profile)) == sorted(server.truth(window))
        assert profile.filter_on == filter_on and shared["filter_on"] == filter_on
        again = ListingProfile()
        again.adopt(shared)
        assert again.filter_on == filter_on and again.sort_column == filter_on
        shared.clear()
