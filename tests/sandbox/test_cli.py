"""The leadact-sandbox command, as a real subprocess."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from airflow_provider_leadact.sandbox import SandboxConfig, generate_dataset
from airflow_provider_leadact.sandbox.api import ACTIVITIES_PATH, USER_PATH
from airflow_provider_leadact.sandbox.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"leadact-sandbox listening on (http://127\.0\.0\.1:(\d+))\n")
KEYS = {"x-LSQ-AccessKey": "sandbox-access-key-0001", "x-LSQ-SecretKey": "sandbox-secret-key-0001"}


def launch(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_leadact.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:  # only if a test failed before stopping its own process
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_serves_on_a_free_port_and_stops_cleanly_on_sigterm(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    truth_file = tmp_path / "truth.json"
    process = launch(
        "--port", "0", "--leads", "5", "--seed", "3", "--offset-mode", "row", "--record-count", "page",
        "--row-cap", "none", "--rate-limit-calls", "25", "--rate-limit-style", "200",
        "--truth-file", str(truth_file),
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    match = LINE.fullmatch(line)
    assert match, line
    url = match.group(1)
    defaults = SandboxConfig()
    dataset = generate_dataset(seed=3, leads=5, backdated=defaults.backdated, dated_ahead=defaults.dated_ahead)
    lead = max(dataset.leads, key=lambda item: len(item.activities))
    assert json.loads(truth_file.read_text(encoding="utf-8")) == {
        item.lead_id: item.activities for item in dataset.leads
    }

    assert requests.get(url + USER_PATH, headers=KEYS, timeout=5).json()["FirstName"] == "Sandbox"
    body = {"Paging": {"Offset": "1", "RowCount": "2"}}
    answer = requests.post(url + ACTIVITIES_PATH, params={"leadId": lead.lead_id}, json=body, headers=KEYS, timeout=5)
    assert answer.json() == {"RecordCount": 2, "ProspectActivities": lead.activities[1:3]}  # row offset
    config = requests.get(url + "/_sandbox/config", timeout=5).json()
    assert config["row_cap"] is None and config["rate_limit_style"] == "200"

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert process.stdout.read() == ""  # exactly one line
    assert process.stderr is not None and process.stderr.read() == ""  # quiet


def test_sigint_also_stops_cleanly(processes: list[subprocess.Popen[str]]) -> None:
    process = launch("--port", "0", "--leads", "2")
    processes.append(process)
    assert process.stdout is not None
    assert LINE.fullmatch(process.stdout.readline())
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0


def test_bad_settings_exit_with_status_2(processes: list[subprocess.Popen[str]]) -> None:
    process = launch("--fault-500", "2", "--leads", "2")
    processes.append(process)
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "fault_500" in errors


def test_every_setting_has_a_flag() -> None:
    flags = {action.dest for action in build_parser()._actions}
    assert {field.name for field in dataclasses.fields(SandboxConfig)} <= flags
    assert "truth_file" in flags
    parsed = vars(build_parser().parse_args(["--row-cap", "none", "--latency", "0.3", "--fault-seed", "4"]))
    assert parsed == {"row_cap": None, "latency": 0.3, "fault_seed": 4, "truth_file": None}


def test_print_connection_gives_a_working_airflow_connection(processes: list[subprocess.Popen[str]]) -> None:
    process = launch("--port", "0", "--leads", "3", "--print-connection")
    processes.append(process)
    assert process.stdout is not None and process.stderr is not None
    url = LINE.fullmatch(process.stdout.readline()).group(1)
    export = process.stderr.readline()
    prefix = "export AIRFLOW_CONN_LEADSQUARED_DEFAULT='"
    assert export.startswith(prefix) and export.endswith("'\n")
    conn = json.loads(export[len(prefix) : -2])
    assert conn["conn_type"] == "leadsquared" and conn["host"] == url
    answer = requests.get(
        url + USER_PATH,
        headers={"x-LSQ-AccessKey": conn["login"], "x-LSQ-SecretKey": conn["password"]},
        timeout=10,
    )
    assert answer.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def readme_settings_rows() -> list[tuple[list[str], str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- sandbox-settings:", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[3:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((re.findall(r"`(--[a-z0-9-]+)`", cells[0]), cells[1]))
    return rows


def test_readme_documents_every_flag_with_its_default() -> None:
    parser = build_parser()
    flags = {option for action in parser._actions for option in action.option_strings if option.startswith("--")}
    rows = readme_settings_rows()
    documented = [flag for names, _ in rows for flag in names]
    assert sorted(documented) == sorted(flags - {"--help"})
    defaults = SandboxConfig()
    for names, default in rows:
        if len(names) != 1 or not hasattr(defaults, names[0][2:].replace("-", "_")):
            continue
        value = getattr(defaults, names[0][2:].replace("-", "_"))
        if value is None:
            assert default == "none", names
        elif isinstance(value, int | float) and not isinstance(value, bool):
            assert float(default) == value, names
        else:
            assert default.strip("`") == str(value), names


def test_help_lists_the_endpoints() -> None:
    text = build_parser().format_help()
    for name in ("RetrieveRecentlyModified", "RetrieveActivityChange", "/_sandbox/truth/changed", "/_sandbox/edit"):
        assert name in text


def test_new_settings_from_the_command_line(processes: list[subprocess.Popen[str]]) -> None:
    process = launch(
        "--port", "0", "--leads", "3", "--account-host", "localhost", "--daily-call-cap", "3",
        "--range-filter-on", "CreatedOn", "--range-include-fields", "partial", "--range-churn", "2",
        "--range-record-count", "page", "--range-max-page-size", "50", "--range-heavy-rows", "7",
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    url = LINE.fullmatch(process.stdout.readline()).group(1)
    config = requests.get(url + "/_sandbox/config", timeout=5).json()
    assert {key: config[key] for key in config if key.startswith(("range_", "account_", "daily_"))} == {
        "account_host": "localhost",
        "daily_call_cap": 3,
        "range_filter_on": "CreatedOn",
        "range_include_fields": "partial",
        "range_churn": 2,
        "range_record_count": "page",
        "range_max_page_size": 50,
        "range_heavy_rows": 7,
    }
    parsed = vars(build_parser().parse_args(["--daily-call-cap", "none", "--account-host", "none"]))
    assert parsed["daily_call_cap"] is None and parsed["account_host"] is None
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
