"""Rate limit, latency and injected faults, over real HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from airflow_provider_leadact.sandbox import Sandbox
from airflow_provider_leadact.sandbox.windows import SlidingWindows
from tests.support.sandbox import Client

RATE_LIMIT_MESSAGE = "API calls exceeded the limit of 3 in 1 second(s)"


def test_sliding_windows_are_half_open() -> None:
    windows = SlidingWindows()
    for moment in (0.0, 0.5, 0.99):
        windows.add("key", moment)
    assert windows.count("key", 0.99, 1.0) == 3
    assert windows.count("key", 1.0, 1.0) == 2  # the call at 0.0 left the window at 1.0
    assert windows.count("other", 1.0, 1.0) == 0


@pytest.mark.parametrize(("style", "status"), [("429", 429), ("200", 200)])
def test_rate_limit_styles(client: Client, sandbox: Sandbox, style: str, status: int) -> None:
    sandbox.configure(rate_limit_calls=3, rate_limit_period=1.0, rate_limit_style=style)
    answers = [client.user() for _ in range(5)]
    assert [answer.status_code for answer in answers[:3]] == [200, 200, 200]
    for answer in answers[3:]:
        assert answer.status_code == status
        assert answer.json() == {
            "Status": "Error",
            "ExceptionType": "MXAPIRateLimitExceededException",
            "ExceptionMessage": RATE_LIMIT_MESSAGE,
        }
    stats = sandbox.stats()
    assert stats["calls"] == 5 and stats["accepted"] == 3 and stats["rate_limited"] == 2
    assert stats["max_in_window"] == 3
    # When each limiter answer came, counted from the first call: both within the first second.
    assert len(stats["rate_limited_after"]) == 2 and all(0 <= t < 1.0 for t in stats["rate_limited_after"])


def test_rejected_calls_do_not_fill_the_window(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit_calls=3, rate_limit_period=1.0)
    began = time.monotonic()
    assert all(client.user().status_code == 200 for _ in range(3))
    # Keep knocking for half a period: every call is refused...
    while time.monotonic() - began < 0.5:
        assert client.user().status_code == 429
        time.sleep(0.05)
    # ...and yet the budget is back one period after the accepted calls.
    time.sleep(max(0.0, began + 1.05 - time.monotonic()))
    assert client.user().status_code == 200


def test_max_in_window_never_exceeds_the_limit_under_concurrent_load(sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit_calls=3, rate_limit_period=1.0)
    statuses: list[int] = []
    lock = threading.Lock()

    def hammer() -> None:
        client = Client(sandbox)
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            status = client.user().status_code
            with lock:
                statuses.append(status)
        client.session.close()

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stats = sandbox.stats()
    assert stats["max_in_window"] == 3
    assert 3 <= stats["accepted"] <= 6  # two windows of 1 s fit in 1.6 s
    assert stats["accepted"] == statuses.count(200)
    assert stats["rate_limited"] == statuses.count(429) == stats["calls"] - stats["accepted"]


def test_max_in_window_is_measured_with_the_limit_off(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit_period=1.0)  # rate_limit_calls is 0 in these tests
    for _ in range(12):
        assert client.user().status_code == 200
    assert sandbox.stats()["max_in_window"] == 12
    sandbox.reset_stats()
    client.user()
    assert sandbox.stats()["max_in_window"] == 1


def test_unauthorized_calls_do_not_use_the_budget(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit_calls=2, rate_limit_period=5.0)
    for _ in range(4):
        assert client.user(headers={}).status_code == 401
    assert client.user().status_code == 200
    assert client.user().status_code == 200
    assert client.user().status_code == 429


def test_latency_is_added_to_answers(client: Client, sandbox: Sandbox) -> None:
    client.user()  # connection set up outside the measurement
    began = time.perf_counter()
    client.user()
    fast = time.perf_counter() - began
    sandbox.configure(latency=0.3)
    began = time.perf_counter()
    assert client.user().status_code == 200
    slow = time.perf_counter() - began
    assert 0.3 <= slow < 0.3 + max(0.2, 5 * fast)


def test_fault_500_is_not_an_mx_error(client: Client, sandbox: Sandbox) -> None:
    assert sandbox.inject_faults("500", 2) == 2
    for _ in range(2):
        response = client.user()
        assert response.status_code == 500
        assert response.json() == {"Message": "An error has occurred."}
    assert client.user().status_code == 200
    assert sandbox.stats()["faults"]["500"] == 2


def test_fault_503_is_html(client: Client, sandbox: Sandbox) -> None:
    sandbox.inject_faults("503", 1)
    response = client.user()
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html>" in response.text and int(response.headers["Content-Length"]) == len(response.content)
    assert client.user().status_code == 200


def test_fault_drop_closes_without_answer(client: Client, sandbox: Sandbox) -> None:
    sandbox.inject_faults("drop", 1)
    with pytest.raises(requests.ConnectionError):
        client.user()
    assert client.user().status_code == 200  # a new connection works
    stats = sandbox.stats()
    assert stats["faults"]["drop"] == 1 and stats["by_status"]["drop"] == 1


def test_fault_truncated_sends_half_a_body(client: Client, sandbox: Sandbox) -> None:
    whole = client.user().content
    sandbox.inject_faults("truncated", 1)
    response = client.user()
    assert response.status_code == 200
    assert response.content == whole[: len(whole) // 2]
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError):
        response.json()
    assert client.user().content == whole  # the connection stays usable


def test_fault_slow_does_not_block_other_calls(sandbox: Sandbox) -> None:
    sandbox.configure(slow_seconds=30.0)
    sandbox.inject_faults("slow", 1)
    slow_client, other = Client(sandbox), Client(sandbox)
    began = time.monotonic()
    with pytest.raises(requests.Timeout):
        slow_client.user(timeout=0.4)
    assert other.user().status_code == 200
    assert time.monotonic() - began < 2
    sandbox.configure(slow_seconds=0.3)
    sandbox.inject_faults("slow", 1)
    began = time.monotonic()
    assert other.user().status_code == 200
    assert time.monotonic() - began >= 0.3
    slow_client.session.close()
    other.session.close()


@pytest.mark.parametrize(("style", "status"), [("429", 429), ("200", 200)])
def test_fault_rate_limit_uses_the_configured_style(client: Client, sandbox: Sandbox, style: str, status: int) -> None:
    sandbox.configure(rate_limit_style=style)
    sandbox.inject_faults("rate_limit", 1)
    response = client.user()
    assert response.status_code == status
    assert response.json()["ExceptionType"] == "MXAPIRateLimitExceededException"
    stats = sandbox.stats()
    assert stats["rate_limited"] == 1 and stats["faults"]["rate_limit"] == 1


def test_faults_are_queued_in_order_and_can_be_cleared(client: Client, sandbox: Sandbox) -> None:
    sandbox.inject_faults("500", 1)
    sandbox.inject_faults("503", 1)
    assert [client.user().status_code for _ in range(3)] == [500, 503, 200]
    sandbox.inject_faults("500", 5)
    sandbox.clear_faults()
    assert client.user().status_code == 200
    with pytest.raises(ValueError, match="fault kind"):
        sandbox.inject_faults("404", 1)
    with pytest.raises(ValueError, match="count"):
        sandbox.inject_faults("500", -1)


def test_faults_come_after_auth_and_rate_limit(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(rate_limit_calls=1, rate_limit_period=5.0)
    sandbox.inject_faults("500", 1)
    assert client.user(headers={}).status_code == 401  # auth first: the fault stays queued
    assert client.user().status_code == 500  # accepted, then the fault
    assert client.user().status_code == 429  # limited before any fault


def test_random_faults_follow_the_fault_seed(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(fault_500=0.5, fault_seed=11)
    first = [client.user().status_code for _ in range(30)]
    sandbox.configure(fault_seed=11)  # restarts the same sequence
    second = [client.user().status_code for _ in range(30)]
    assert first == second
    assert 0 < first.count(500) < 30 and set(first) == {200, 500}
    assert sandbox.stats()["faults"]["500"] == 2 * first.count(500)


def test_random_fault_of_every_kind(client: Client, sandbox: Sandbox) -> None:
    sandbox.configure(fault_503=1.0)
    assert client.user().status_code == 503
    sandbox.configure(fault_503=0.0, fault_truncated=1.0)
    with pytest.raises(ValueError):
        client.user().json()
    sandbox.configure(fault_truncated=0.0, fault_drop=1.0)
    with pytest.raises(requests.ConnectionError):
        client.user()
    sandbox.configure(fault_drop=0.0, fault_slow=1.0, slow_seconds=0.2)
    began = time.monotonic()
    assert client.user().status_code == 200 and time.monotonic() - began >= 0.2
    faults = sandbox.stats()["faults"]
    assert faults["503"] == faults["truncated"] == faults["drop"] == faults["slow"] == 1
