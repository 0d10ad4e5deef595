"""The Python API of Sandbox and the control endpoints that expose it to other processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from airflow_provider_leadact.sandbox import Sandbox, SandboxConfig
from airflow_provider_leadact.sandbox.api import ACTIVITIES_PATH, USER_PATH
from tests.support.sandbox import Client


def test_lifecycle_and_connection() -> None:
    sandbox = Sandbox(leads=3, seed=1)
    assert not sandbox.running
    # The data exists before start(): every lead's truth, as the data set holds it.
    assert sandbox.dataset.activity_count > 0
    assert sum(len(sandbox.truth(lead)) for lead in sandbox.lead_ids()) == (sandbox.dataset.activity_count)
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    with sandbox:
        assert sandbox.running and sandbox.port > 0
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
        with pytest.raises(RuntimeError, match="already"):
            sandbox.start()
        connection = json.loads(sandbox.connection_json())
        assert connection == {
            "conn_type": "leadsquared",
            "host": sandbox.url,
            "login": "sandbox-access-key-0001",
            "password": "sandbox-secret-key-0001",
        }
        with pytest.raises(ValueError, match="port"):
            sandbox.configure(port=1234)
        url = sandbox.url
    assert not sandbox.running
    sandbox.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(url + USER_PATH, timeout=2)
    # A stopped sandbox can serve again.
    with sandbox.start():
        assert Client(sandbox).user().status_code == 200
    sandbox.stop()


def test_config_and_keyword_overrides() -> None:
    base = SandboxConfig(leads=3, offset_mode="row")
    sandbox = Sandbox(base, record_count="page")
    assert sandbox.config.offset_mode == "row" and sandbox.config.record_count == "page"
    assert sandbox.config.leads == 3 and len(sandbox.lead_ids()) == 3
    assert base.record_count == "total"  # the given config is not modified


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offset_mode": "page2"}, "offset_mode"),
        ({"record_count": "all"}, "record_count"),
        ({"rate_limit_style": "418"}, "rate_limit_style"),
        ({"row_cap": 0}, "row_cap"),
        ({"default_rows": 0}, "default_rows"),
        ({"rate_limit_calls": -1}, "rate_limit_calls"),
        ({"rate_limit_period": 0}, "rate_limit_period"),
        ({"latency": -0.1}, "latency"),
        ({"fault_500": 1.5}, "fault_500"),
        ({"fault_500": 0.6, "fault_drop": 0.6}, "add up"),
        ({"leads": -1}, "leads"),
        ({"days": 0}, "days"),
        ({"start": "2025/01/01"}, "start"),
        ({"port": 70000.5}, "port"),
        ({"seed": "seven"}, "seed"),
        ({"access_key": ""}, "access_key"),
        ({"colour": "blue"}, "unknown"),
    ],
)
def test_invalid_settings_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SandboxConfig().replace(**changes)
    with pytest.raises(ValueError, match=message):
        Sandbox(leads=3).configure(**changes)


def test_configure_regenerates_data_only_when_data_settings_change(sandbox: Sandbox) -> None:
    original = sandbox.dataset
    sandbox.configure(seed=sandbox.config.seed, offset_mode="row")
    assert sandbox.dataset is original
    try:
        sandbox.configure(seed=99, leads=4)
        assert sandbox.dataset is not original and len(sandbox.lead_ids()) == 4
    finally:
        sandbox.configure(seed=7, leads=60)
    assert sandbox.lead_ids() == original.lead_ids()


def test_truth_helpers(sandbox: Sandbox, tmp_path: Path) -> None:
    lead_id = max(sandbox.lead_ids(), key=lambda item: len(sandbox.truth(item)))
    rows = sandbox.truth(lead_id)
    rows[0]["EventName"] = "changed by a test"
    assert sandbox.truth(lead_id)[0]["EventName"] != "changed by a test"  # a deep copy
    assert sandbox.truth("00000000-0000-4000-8000-000000000000") == []
    everything = sandbox.all_truth()
    assert list(everything) == sandbox.lead_ids()
    assert sum(map(len, everything.values())) == sandbox.dataset.activity_count
    calls = sandbox.all_truth(activity_event=206)
    assert all(item["EventCode"] == 206 for rows in calls.values() for item in rows)
    path = tmp_path / "truth.json"
    sandbox.write_truth(path)
    assert json.loads(path.read_text(encoding="utf-8")) == everything


def test_control_stats_and_reset(client: Client, sandbox: Sandbox) -> None:
    client.user()
    client.activities("00000000-0000-4000-8000-000000000000")
    stats = client.control("GET", "/stats").json()
    assert stats == sandbox.stats()
    assert stats["calls"] == 2 and stats["accepted"] == 2
    assert stats["by_endpoint"] == {USER_PATH: 1, ACTIVITIES_PATH: 1}
    assert stats["first_call_at"] <= stats["last_call_at"]
    assert set(stats) >= {
        "calls",
        "accepted",
        "rate_limited",
        "max_in_window",
        "query_auth_calls",
        "unauthorized",
        "faults",
        "by_endpoint",
        "first_call_at",
        "last_call_at",
    }
    reset = client.control("POST", "/stats/reset").json()
    assert reset["calls"] == 0 and reset["first_call_at"] is None
    assert sandbox.stats()["calls"] == 0  # control calls are not counted


def test_control_truth_and_leads(client: Client, sandbox: Sandbox) -> None:
    lead_id = sandbox.lead_ids()[5]
    one = client.control("GET", "/truth", params={"leadId": lead_id}).json()
    assert one == {lead_id: sandbox.truth(lead_id)}
    filtered = client.control("GET", "/truth", params={"leadId": lead_id, "activityEvent": "21"}).json()
    assert filtered == {lead_id: sandbox.truth(lead_id, 21)}
    everything = client.control("GET", "/truth").json()
    assert everything == sandbox.all_truth()
    leads = client.control("GET", "/leads").json()
    assert [lead["lead_id"] for lead in leads] == sandbox.lead_ids()
    assert leads[0]["modified_on"] == sandbox.dataset.leads[0].modified_on
    assert leads[0]["activities"] == len(sandbox.truth(leads[0]["lead_id"]))


def test_control_config(client: Client, sandbox: Sandbox) -> None:
    shown = client.control("GET", "/config").json()
    assert shown["offset_mode"] == "page0"
    assert shown["access_key"] == shown["secret_key"] == "***"  # keys never leave the process
    changed = client.control("POST", "/config", json={"offset_mode": "row", "rate_limit_style": 200})
    assert changed.status_code == 200
    assert changed.json()["offset_mode"] == "row"
    assert sandbox.config.offset_mode == "row" and sandbox.config.rate_limit_style == "200"
    refused = client.control("POST", "/config", json={"offset_mode": "sideways"})
    assert refused.status_code == 400 and "offset_mode" in refused.json()["error"]
    assert client.control("POST", "/config", data=b"not json").status_code == 400
    assert client.control("POST", "/config", json={"port": 1}).status_code == 400


def test_control_faults(client: Client, sandbox: Sandbox) -> None:
    queued = client.control("POST", "/faults", json={"kind": "503", "count": 2})
    assert queued.status_code == 200 and queued.json() == {"queued": 2}
    assert [client.user().status_code for _ in range(3)] == [503, 503, 200]
    assert client.control("POST", "/faults", json={"kind": 500}).json() == {"queued": 1}
    assert client.control("POST", "/faults/clear").json() == {"queued": 0}
    assert client.user().status_code == 200
    assert client.control("POST", "/faults", json={"kind": "meteor"}).status_code == 400
    assert client.control("POST", "/faults", json={"count": 1}).status_code == 400


def test_unknown_control_endpoint(client: Client) -> None:
    response = client.control("GET", "/nothing")
    assert response.status_code == 404 and "error" in response.json()
