"""Every error of the provider survives pickling (executors and process pools carry errors between processes)."""

from __future__ import annotations

import inspect
import pickle
from datetime import datetime, timezone

import pytest

from airflow_provider_leadact import exceptions
from airflow_provider_leadact.exceptions import (
    LeadSquaredApiError,
    LeadSquaredAuthError,
    LeadSquaredConfigError,
    LeadSquaredDailyCapReached,
    LeadSquaredDailyLimitError,
    LeadSquaredError,
    LeadSquaredNotFoundError,
    LeadSquaredPagingError,
    LeadSquaredRateLimited,
    LeadSquaredTransientError,
)

#: One instance of every error class, built as the provider builds it.
EXAMPLES: dict[type[BaseException], BaseException] = {
    LeadSquaredError: LeadSquaredError("leads modified from 2025-01-01: still paging after 10 pages"),
    LeadSquaredConfigError: LeadSquaredConfigError("page_size must be at most 5000, got 9000"),
    LeadSquaredAuthError: LeadSquaredAuthError("LeadSquared refused the keys (HTTP 401)"),
    LeadSquaredNotFoundError: LeadSquaredNotFoundError("HTTP 404: check the host"),
    LeadSquaredApiError: LeadSquaredApiError(
        "activities of lead 3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf: Invalid lead",
        exception_type="MXInvalidInputException",
        status_code=400,
    ),
    LeadSquaredTransientError: LeadSquaredTransientError("HTTP 503 after 6 attempts"),
    LeadSquaredRateLimited: LeadSquaredRateLimited("API calls exceeded the limit of 25 in 5 second(s)"),
    LeadSquaredPagingError: LeadSquaredPagingError("lead x: still paging after 10000 pages"),
    LeadSquaredDailyLimitError: LeadSquaredDailyLimitError("API calls exceeded the daily limit of 10000 calls"),
    LeadSquaredDailyCapReached: LeadSquaredDailyCapReached(30, 31, datetime(2026, 11, 28, tzinfo=timezone.utc)),
}


def round_trip(error: BaseException, protocol: int = pickle.DEFAULT_PROTOCOL) -> BaseException:
    # The bytes were pickled a line earlier by this test: nothing untrusted is loaded.
    return pickle.loads(pickle.dumps(error, protocol=protocol))  # noqa: S301


def error_classes() -> set[type[BaseException]]:
    """Every exception class the module defines (not the ones it imports)."""
    return {
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, BaseException) and cls.__module__ == exceptions.__name__
    }


def test_every_error_class_has_an_example() -> None:
    # A class added to the module without an example here fails this test.
    assert error_classes() == set(EXAMPLES)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("cls", sorted(EXAMPLES, key=lambda cls: cls.__name__))
def test_pickled_error_keeps_class_message_and_attributes(cls: type[BaseException], protocol: int) -> None:
    error = EXAMPLES[cls]
    copy = round_trip(error, protocol)
    assert type(copy) is cls
    assert str(copy) == str(error) and copy.args == error.args
    assert vars(copy) == vars(error)


def test_daily_cap_keeps_its_figures_and_the_message_it_was_raised_with() -> None:
    error = EXAMPLES[LeadSquaredDailyCapReached]
    copy = round_trip(error)
    assert (copy.cap, copy.used, copy.resets_at) == (30, 31, datetime(2026, 11, 28, tzinfo=timezone.utc))
    # The message states the time left when it was raised; rebuilding it later would change it.
    assert "31 of 30 calls used today" in str(copy) and str(copy) == str(error)
    assert isinstance(copy, LeadSquaredDailyLimitError)


def test_api_error_keeps_what_the_server_said() -> None:
    copy = round_trip(EXAMPLES[LeadSquaredApiError])
    assert copy.exception_type == "MXInvalidInputException" and copy.status_code == 400
