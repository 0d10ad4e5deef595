"""No key leaks, through the operators (the quick part; whole DAG runs are in test_dag_runs.py).

Successful and failing runs (wrong keys, server errors, a lead failing every retry, a
certificate that does not verify, a bad host) are made through the operators and the hook;
then every trace is searched for both keys and for a wrong pair a user might type: log
records at DEBUG (urllib3's included) before any Airflow masking, everything printed, each
exception with every exception chained to it (shown or not), the values the operators return
(their XCom), the connection test's message, the files and the SQL rows written.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
)
from tests.support.proxies import FailingLeadsProxy, make_certificate, tls_terminator
from tests.support.sandbox import ALL_KEYS, WRONG_KEYS
from tests.support.sql import fetch_rows


def exception_texts(error: BaseException) -> str:
    """The traceback as shown, plus every chained exception (even suppressed ones) and its args."""
    parts, seen, pending = ["".join(traceback.format_exception(error))], set(), [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [repr(current), str(current), repr(current.args), "".join(traceback.format_exception(current))]
        pending += [current.__cause__, current.__context__]
    return "\n".join(parts)


def test_no_key_in_any_trace_of_successful_and_failing_runs(
    keyed_sandbox, set_connection, sqlite_conn_id: str, tmp_path: Path, caplog, capfd, monkeypatch
) -> None:
    sandbox = keyed_sandbox
    caplog.set_level(logging.DEBUG)
    ids = sandbox.lead_ids()[:6]
    traces: dict[str, str] = {}
    outputs: list[Any] = []

    def run(name: str, conn_id: str, expect_failure: bool) -> None:
        for index, make in enumerate((to_file, to_sql)):
            operator = make(conn_id, f"{name}-{index}")
            try:
                outputs.append(operator.execute({}))
            except LeadSquaredError as error:
                assert expect_failure, exception_texts(error)
                traces[f"{name}: {type(operator).__name__}"] = exception_texts(error)
            else:
                assert not expect_failure, name

    def to_file(conn_id: str, name: str) -> Any:
        return LeadSquaredActivitiesToObjectStorageOperator(
            task_id="f", lead_ids=ids, path=f"file://{tmp_path}/out/{name}.jsonl", leadsquared_conn_id=conn_id
        )

    def to_sql(conn_id: str, name: str) -> Any:
        return LeadSquaredActivitiesToSqlOperator(
            task_id="s", lead_ids=ids, conn_id=sqlite_conn_id, table="leak_check", leadsquared_conn_id=conn_id
        )

    run("success", set_connection("lsq_ok", sandbox.url), expect_failure=False)
    wrong = set_connection("lsq_wrong", sandbox.url, login=WRONG_KEYS["access_key"], password=WRONG_KEYS["secret_key"])
    run("wrong keys", wrong, expect_failure=True)
    ok, message = LeadSquaredHook(leadsquared_conn_id=wrong).test_connection()
    traces["test_connection with wrong keys"] = message
    assert not ok and "401" in message

    sandbox.configure(fault_500=1.0)
    run("server errors", set_connection("lsq_500", sandbox.url, max_attempts=2), expect_failure=True)
    sandbox.configure(fault_500=0.0)

    with FailingLeadsProxy(sandbox.url, {ids[3]}) as proxy:
        run("failing lead", set_connection("lsq_proxy", proxy.url, max_attempts=2), expect_failure=True)
    cert, key = make_certificate(tmp_path, dns_names=["localhost"], ip_addresses=["127.0.0.1"], name="self")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with tls_terminator((sandbox.config.host, sandbox.port), cert, key) as (url, _):
        run("untrusted certificate", set_connection("lsq_tls", url, max_attempts=2), expect_failure=True)
    run("plain http to a remote host", set_connection("lsq_http", "http://api-in21.leadsquared.com"), True)

    # The failures say what happened, so the search below covers real messages.
    assert "HTTP 401" in traces["wrong keys: LeadSquaredActivitiesToObjectStorageOperator"]
    assert "HTTP 500" in traces["server errors: LeadSquaredActivitiesToSqlOperator"]
    assert ids[3] in traces["failing lead: LeadSquaredActivitiesToObjectStorageOperator"]
    assert "certificate" in traces["untrusted certificate: LeadSquaredActivitiesToSqlOperator"]
    assert len(traces) == 11 and len(outputs) == 2

    printed = capfd.readouterr()
    corpus = {
        "log records": "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records),
        "printed output": printed.out + printed.err,
        **traces,
        "returned values (XCom)": repr(outputs),
        "SQL rows": repr(fetch_rows(sqlite_conn_id, "leak_check")),
        **{str(path): path.read_text("utf-8") for path in (tmp_path / "out").iterdir()},
    }
    assert any("urllib3" in r.name for r in caplog.records), "DEBUG records of the HTTP library are searched too"
    assert ids[0] in corpus["SQL rows"] and len(corpus) > 15
    leaks = [(where, key) for where, text in corpus.items() for key in ALL_KEYS if key in text]
    assert leaks == []
    assert sandbox.stats()["query_auth_calls"] == 0 and sandbox.stats()["calls"] > 0


@pytest.mark.parametrize("key_in_message", ["access", "secret"])
def test_a_server_echoing_a_key_in_its_error_does_not_leak_it(keyed_sandbox, set_connection, key_in_message) -> None:
    # Error messages quote what the server said; a server that echoes the request's key
    # (some gateways do) must not put it into the task's error.
    import http.server
    import threading

    key = keyed_sandbox.config.access_key if key_in_message == "access" else keyed_sandbox.config.secret_key

    class Echo(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = (
                '{"Status":"Error","ExceptionType":"MXInvalidInputException",'
                f'"ExceptionMessage":"bad request from key {key}"}}'
            ).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = LeadSquaredHook(leadsquared_conn_id=set_connection("lsq_echo", f"http://127.0.0.1:{server.server_port}"))
        with pytest.raises(LeadSquaredError) as info:
            list(hook.get_lead_activities(keyed_sandbox.lead_ids()[0]))
    finally:
        server.shutdown()
        server.server_close()
    text = exception_texts(info.value)
    assert "bad request from key ***" in str(info.value)
    assert all(secret not in text for secret in ALL_KEYS)
