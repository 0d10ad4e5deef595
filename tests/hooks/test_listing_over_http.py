"""The hook's listing over HTTP: heavy windows, facts shared through the budget, rows without a lead."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredApiError
from airflow_provider_leadact.listing import CHUNK, MODIFIED_ON
from airflow_provider_leadact.sandbox import Sandbox

DAY = (datetime(2025, 1, 6), datetime(2025, 1, 7))


def listed(hook, start: datetime, end: datetime) -> list[str]:
    return [activity["Id"] for _, activity in hook.iter_changed_activities(start, end)]


def test_a_window_the_service_cannot_answer_is_split_and_remembered(sandbox: Sandbox, make_hook, tmp_path) -> None:
    # More than 150 rows in one query answers HTTP 500 MXDataAccessException, however often asked.
    sandbox.configure(range_heavy_rows=150)
    budget = f"file:{tmp_path}"
    hook = make_hook(sandbox, rate_limit_backend=budget)
    truth = sorted(a["Id"] for a in sandbox.truth_changed(*DAY))
    assert len(truth) > 600
    got = listed(hook, *DAY)
    assert sorted(got) == truth  # exact, each once
    assert sandbox.stats()["by_status"].get("500", 0) > 0
    span = hook.listing_profile.span
    assert span < timedelta(days=1) and hook.listing_profile.page_size is not None
    # Another task of the account starts at the span that worked (shared through the budget).
    other = make_hook(sandbox, rate_limit_backend=budget)
    assert other.listing_profile.span <= 2 * span and other.listing_profile.filter_on == MODIFIED_ON
    failures = sandbox.stats()["by_status"]["500"]
    assert sorted(listed(other, *DAY)) == truth
    assert sandbox.stats()["by_status"]["500"] - failures <= 3  # at most one doubling tried again


def test_a_window_heavy_even_at_fifteen_minutes_fails_saying_so(sandbox: Sandbox, make_hook) -> None:
    sandbox.configure(range_heavy_rows=1)
    hook = make_hook(sandbox)
    with pytest.raises(LeadSquaredApiError, match="the smallest asked for") as caught:
        listed(hook, *DAY)
    assert "MXDataAccessException" in str(caught.value) and CHUNK > timedelta(minutes=15)
