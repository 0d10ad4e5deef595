"""Progress lines: every 5 % of leads, and at least every interval while a long lead pages."""

from __future__ import annotations

import logging
import time

from airflow_provider_leadact.operators.progress import FetchProgress


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def tracker(interval: float, total: int = 1) -> tuple[FetchProgress, Lines, dict[str, float]]:
    log = logging.getLogger(f"test.progress.{time.monotonic_ns()}")
    log.propagate = False
    lines = Lines()
    log.addHandler(lines)
    log.setLevel(logging.INFO)
    stats = {"calls": 0, "calls_today": 0, "rate_limit_waits": 0, "retries": 0}
    return FetchProgress(total, log, lambda: stats, interval=interval), lines, stats


def test_pages_of_a_long_lead_bring_a_line_once_the_interval_passed():
    progress, lines, stats = tracker(interval=0.2)
    progress.page_fetched("lead", 1000)
    assert lines.messages == []  # within the interval: quiet
    time.sleep(0.25)
    stats.update(calls=7, calls_today=1234)
    progress.page_fetched("lead", 500)
    assert len(lines.messages) == 1
    assert (
        "Leads 0/1 done, 0 activities (1500 fetched so far), 7 API calls (1234 today on the account)"
        in (lines.messages[0])
    )
    progress.page_fetched("lead", 1)
    assert len(lines.messages) == 1
    progress.lead_done(1501)
    assert len(lines.messages) == 2 and "Leads 1/1 done, 1501 activities" in lines.messages[1]


def test_the_ticker_logs_before_the_interval_passes_in_silence():
    progress, lines, _ = tracker(interval=1.0)
    started = time.monotonic()
    with progress:
        time.sleep(2.2)  # a call that takes long: no page, no lead
    assert len(lines.messages) == 2
    time.sleep(1.0)
    assert len(lines.messages) == 2  # stopped with the block
    assert time.monotonic() - started < 4


def test_a_window_logs_its_share_done_as_rows_arrive() -> None:
    import logging
    from datetime import datetime, timedelta

    from airflow_provider_leadact.operators.progress import WindowProgress
    from airflow_provider_leadact.validation import Window

    lines: list[str] = []

    class Log(logging.Logger):
        def info(self, msg, *args, **kwargs):
            lines.append(msg % args)

    start = datetime(2025, 1, 1)
    progress = WindowProgress(Window(start, start + timedelta(hours=10)), Log("t"), lambda: {"calls": 3})
    for minute in range(0, 600, 6):  # a row every 6 minutes: 100 rows over the window
        progress.row(start + timedelta(minutes=minute))
    assert len(lines) == 19  # at 5 %, 10 %, ..., 95 % of the window
    assert lines[0].startswith("Window [2025-01-01 00:00:00, 2025-01-01 10:00:00): 5% done")
    assert "API calls" in lines[-1] and "95% done" in lines[-1]
