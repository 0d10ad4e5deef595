"""A long range as windows for mapping: cheap where nothing changed, never more than Airflow maps."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.operators import LeadSquaredChangedLeadsOperator, LeadSquaredWindowsOperator
from airflow_provider_leadact.operators.mapping import batches, max_map_length, windows
from airflow_provider_leadact.validation import Window


def plan(**kwargs) -> list[Window]:
    operator = LeadSquaredWindowsOperator(task_id="windows", **kwargs)
    return [Window.of(w["from_date"], w["to_date"]) for w in operator.execute({})]


def test_a_range_from_2000_costs_a_few_calls_and_covers_every_change(activity_sandbox) -> None:
    planned = plan(from_date="2000-01-01T00:00:00+00:00", to_date=datetime.now().isoformat())
    truth = activity_sandbox.truth_changed("2000-01-01T00:00:00", datetime.now())
    moments = [datetime.fromisoformat(item["ModifiedOn"]) for item in truth]
    assert activity_sandbox.stats()["calls"] <= 4  # a page and a probe to learn the filter, two to bound the changes
    assert planned[0].start == min(moments).replace(hour=0, minute=0, second=0)
    assert planned[-1].end > max(moments) and planned[-1].end - max(moments) <= timedelta(seconds=1)
    assert all(b.start == a.end for a, b in itertools.pairwise(planned))
    assert all(w.end - w.start <= timedelta(days=14) for w in planned) and len(planned) <= 2


def test_nothing_changed_means_no_window_once_the_filter_is_known(activity_sandbox) -> None:
    empty = {"from_date": "2001-01-01T00:00:00+00:00", "to_date": "2002-01-01T00:00:00+00:00"}
    # An empty answer cannot show how the server filters: the range is planned whole.
    assert len(plan(**empty)) == 27
    # Another task learned it (shared through the account's budget): the empty range costs one call.
    plan(from_date="2025-01-01", to_date="2025-02-01")
    activity_sandbox.reset_stats()
    assert plan(**empty) == []
    assert activity_sandbox.stats()["calls"] == 1


def test_windows_widen_to_stay_within_max_map_length(activity_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "3")
    assert max_map_length() == 3
    planned = plan(from_date="2025-01-01T00:00:00+00:00", to_date="2025-03-01T00:00:00+00:00", window_hours=24)
    assert len(planned) == 3
    assert planned[0].start == datetime(2025, 1, 1) and planned[-1].end <= datetime(2025, 3, 1)
    daily = plan(from_date="2025-01-02", to_date="2025-01-03", window_hours=6, skip_empty=False)
    assert [w.end - w.start for w in daily] == [timedelta(hours=8)] * 3
    assert activity_sandbox.stats()["calls"] <= 4


@pytest.mark.parametrize(
    ("from_date", "to_date", "message"),
    [
        ("2025-01-02", "2025-01-01", "reversed"),
        ("2025-01-02", "2025-01-02", "empty"),
        ("2025-01-02", "2999-01-01", "in the future"),
        ("", "2025-01-01", "render to nothing"),
    ],
)
def test_bad_ranges_are_refused_before_any_call(activity_sandbox, from_date, to_date, message) -> None:
    with pytest.raises(LeadSquaredConfigError, match=message):
        plan(from_date=from_date, to_date=to_date)
    assert activity_sandbox.stats()["calls"] == 0


def test_window_hours_must_be_hours() -> None:
    with pytest.raises(LeadSquaredConfigError, match="window_hours"):
        LeadSquaredWindowsOperator(task_id="w", from_date="a", to_date="b", window_hours=0)


def test_batches_grow_so_any_number_of_items_maps() -> None:
    items = list(range(25_000))
    cut, size = batches(items, 20, limit=1024)
    assert len(cut) <= 1024 and size == 25 and [x for b in cut for x in b] == items
    assert batches(items[:100], 20, limit=1024) == ([items[i : i + 20] for i in range(0, 100, 20)], 20)
    assert batches([], 20, limit=5) == ([], 20)
    assert len(windows(Window(datetime(2000, 1, 1), datetime(2026, 1, 1)), timedelta(days=14), limit=50)) <= 50


def test_changed_leads_batches_stay_within_max_map_length(activity_sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__MAX_MAP_LENGTH", "4")
    day = activity_sandbox.history_days()[5]
    operator = LeadSquaredChangedLeadsOperator(task_id="leads", from_date=day, to_date=f"{day}T23:59:59", batch_size=2)
    batches_out = operator.execute({})
    leads = {item["RelatedProspectId"] for item in activity_sandbox.truth_changed(day, f"{day}T23:59:59")}
    assert len(batches_out) <= 4 and len(leads) > 8
    assert {lead for batch in batches_out for lead in batch} == leads
