"""API times: one list of forms, read strictly for typed columns and leniently for comparisons."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_leadact.times import api_time, parse_api_time, read_api_time

MOMENT = datetime(2025, 1, 3, 4, 5, 6)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2025-01-03 04:05:06", MOMENT),
        (" 2025-01-03 04:05:06 ", MOMENT),
        ("2025-01-03 04:05:06.250000", MOMENT.replace(microsecond=250_000)),
        ("2025-01-03T04:05:06", MOMENT),
        ("2025-01-03T04:05:06.5", MOMENT.replace(microsecond=500_000)),
    ],
)
def test_every_form_the_api_writes_is_read_by_both(text, moment) -> None:
    assert read_api_time(text) == moment
    assert parse_api_time(text) == moment


@pytest.mark.parametrize("text", ["2025-01-03", "03/01/2025 04:05:06", "", "2025-01-03 04:05:06Z"])
def test_the_strict_reading_names_what_is_not_a_time(text) -> None:
    with pytest.raises(ValueError, match="is not a time in the form YYYY-MM-DD HH:MM:SS"):
        read_api_time(text)


def test_the_lenient_reading_takes_a_z_and_datetimes_and_gives_none_for_the_rest() -> None:
    assert parse_api_time("2025-01-03 04:05:06Z") == MOMENT
    assert parse_api_time(MOMENT) == MOMENT
    assert parse_api_time(MOMENT.replace(tzinfo=timezone(timedelta(hours=2)))) == MOMENT - timedelta(hours=2)
    assert parse_api_time("2025-01-03") is None
    assert parse_api_time(None) is None
    assert parse_api_time(20250103) is None


def test_written_as_the_api_writes_it() -> None:
    assert api_time(MOMENT.replace(microsecond=999_999)) == "2025-01-03 04:05:06"
