"""Every bad input of the README's "Bad input" table is refused clearly, before any API call.

One row of ``ROWS`` per case, each through a public entry point: an operator built as in a DAG
file (some inputs are refused right there, at parse time), its templates rendered, then
``execute()``; or the hook. For every row the test checks the error is a
``LeadSquaredConfigError`` (a ``ValueError``) whose message says what to fix, that the
sandbox received no call, and that nothing was written (no folder, no file, no table).

The lower-level checks (validation, connection settings, sinks) have their own tests in
tests/test_validation.py, tests/test_connection.py and tests/sinks; this module proves the
user meets them through the operators.
"""

from __future__ import annotations

import json
import sqlite3
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum
import pytest
from airflow.sdk import DAG

from airflow_provider_leadact.airflow_compat import BaseHook
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators import (
    LeadSquaredActivitiesToObjectStorageOperator,
    LeadSquaredActivitiesToSqlOperator,
    LeadSquaredActivityFilesToSqlOperator,
)
from tests.support.connections import connection_json

A = "3a6d5ea2-400e-4a2f-a728-fbfa0b0c1ddf"
TABLE = "bad_input_activities"


@dataclass
class Env:
    """What a row needs: the sandbox, a folder, a SQLite connection, a way to define connections."""

    sandbox: Any
    tmp: Path
    sqlite_conn_id: str
    monkeypatch: pytest.MonkeyPatch

    @property
    def storage(self) -> Path:
        return self.tmp / "data" / "storage"

    @property
    def good_ids(self) -> list[str]:
        return self.sandbox.lead_ids()[:2]

    def connection(self, conn_id: str, **fields: Any) -> str:
        host = fields.pop("host", self.sandbox.url)
        login = fields.pop("login", self.sandbox.config.access_key)
        password = fields.pop("password", self.sandbox.config.secret_key)
        self.monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(host, login=login, password=password, **fields)
        )
        return conn_id

    def _run(self, make: Callable[..., Any], params: dict[str, Any] | None, kwargs: dict[str, Any]) -> Any:
        kwargs.setdefault("lead_ids", self.good_ids)
        with DAG(f"bad_input_{uuid.uuid4().hex[:8]}", schedule=None, start_date=pendulum.datetime(2025, 1, 1)):
            operator = make(task_id="fetch", **kwargs)
        context: dict[str, Any] = {"params": params or {}}
        operator.render_template_fields(context)
        return operator.execute(context)

    def to_file(self, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("path", f"file://{self.storage}/activities.jsonl")
        return self._run(LeadSquaredActivitiesToObjectStorageOperator, params, kwargs)

    def to_sql(self, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("conn_id", self.sqlite_conn_id)
        kwargs.setdefault("table", TABLE)
        return self._run(LeadSquaredActivitiesToSqlOperator, params, kwargs)

    def hook_fetch(self, lead_ids: Any, conn_id: str = "leadsquared_default", **kwargs: Any) -> Any:
        return list(LeadSquaredHook(leadsquared_conn_id=conn_id).iter_leads_activities(lead_ids, **kwargs))

    def nothing_written(self) -> None:
        assert not (self.tmp / "data").exists(), list((self.tmp / "data").rglob("*"))
        database = Path(BaseHook.get_connection(self.sqlite_conn_id).host)
        if database.exists():
            with sqlite3.connect(database) as db:
                assert db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []


@dataclass
class Row:
    """One case: the README row it belongs to, what the user does, what the message must say."""

    row: str
    act: Callable[[Env], Any]
    says: tuple[str, ...]
    #: ``parse`` when the operator's constructor (the DAG file) refuses it, else ``run``.
    when: str = "run"


def nested(depth: int) -> Any:
    value: Any = A
    for _ in range(depth):
        value = [value]
    return value


def extra(name: str, value: Any) -> Callable[[Env], Any]:
    return lambda env: env.to_file(leadsquared_conn_id=env.connection("lsq_bad_extra", **{name: value}))


def extra_text(text: str) -> Callable[[Env], Any]:
    """A connection whose extra is this text, as typed into the form's Extra Fields JSON."""

    def act(env: Env) -> Any:
        conn = json.loads(connection_json(env.sandbox))
        conn["extra"] = text
        env.monkeypatch.setenv("AIRFLOW_CONN_LSQ_BAD_EXTRA_TEXT", json.dumps(conn))
        return env.to_sql(leadsquared_conn_id="lsq_bad_extra_text")

    return act


def host(value: str | None) -> Callable[[Env], Any]:
    return lambda env: env.to_sql(leadsquared_conn_id=env.connection("lsq_bad_host", host=value))


def keys(login: str | None, password: str | None) -> Callable[[Env], Any]:
    return lambda env: env.to_file(leadsquared_conn_id=env.connection("lsq_no_keys", login=login, password=password))


def path(template: str, base: str | None = None, **params: str) -> Callable[[Env], Any]:
    def act(env: Env) -> Any:
        rendered = template.replace("<storage>", str(env.storage)).replace("<tmp>", str(env.tmp))
        base_path = base.replace("<storage>", str(env.storage)) if base else None
        return env.to_file(params=params, path=rendered, base_path=base_path)

    return act


ROWS: dict[str, Row] = {
    # -- lead ids ----------------------------------------------------------------------------
    "lead_ids None": Row("None", lambda env: env.to_file(lead_ids=None), ("lead_ids is None", "pass a list")),
    "a None in the list": Row(
        "None", lambda env: env.to_sql(lead_ids=[*env.good_ids, None]), ("1 lead id(s) are not valid: None", "GUID")
    ),
    "hook: lead id None": Row(
        "None", lambda env: LeadSquaredHook().get_lead_activities(None), ("lead id is None", "ProspectID")
    ),
    "empty list": Row("empty", lambda env: env.to_file(lead_ids=[]), ("no lead ids given", "at least one")),
    "empty string": Row("empty", lambda env: env.to_sql(lead_ids=""), ("no lead ids given",)),
    "template rendering to nothing": Row(
        "empty", lambda env: env.to_file(lead_ids="{{ params.ids }}", params={"ids": ""}), ("no lead ids given",)
    ),
    "an empty id in the list": Row(
        "empty", lambda env: env.to_file(lead_ids=[*env.good_ids, ""]), ("are not valid: ''", "GUID")
    ),
    "hook: empty lead id": Row("empty", lambda env: LeadSquaredHook().get_lead_activities(""), ("lead id is empty",)),
    "white space only": Row("whitespace", lambda env: env.to_file(lead_ids=" \n\t "), ("no lead ids given",)),
    "a blank id in the list": Row(
        "whitespace", lambda env: env.to_sql(lead_ids=[*env.good_ids, "   "]), ("are not valid: '   '",)
    ),
    "not a GUID": Row(
        "not a GUID",
        lambda env: env.to_file(lead_ids=["not-a-guid"]),
        ("1 lead id(s) are not valid: 'not-a-guid'", "(GUIDs) such as 3a6d5ea2-"),
    ),
    "a GUID with a character too many": Row(
        "not a GUID", lambda env: env.to_sql(lead_ids=[A, A + "0"]), (f"'{A}0'", "ProspectIDs (GUIDs)")
    ),
    "a number": Row("not a GUID", lambda env: env.to_file(lead_ids=[A, 42]), ("are not valid: 42",)),
    "one bad id in a comma-separated string": Row(
        "not a GUID", lambda env: env.to_file(lead_ids=f"{A}, nope"), ("are not valid: 'nope'",)
    ),
    "hook: not a GUID": Row(
        "not a GUID", lambda env: LeadSquaredHook().get_lead_activities("abc"), ("'abc' is not a GUID", "expected e.g.")
    ),
    "a mapping": Row("odd shapes", lambda env: env.to_file(lead_ids={"lead": A}), ("got a mapping", "pass a list")),
    "a mapping inside a list": Row("odd shapes", lambda env: env.to_sql(lead_ids=[[A], {"id": A}]), ("got a mapping",)),
    "nested nine levels deep": Row(
        "odd shapes", lambda env: env.to_file(lead_ids=nested(9)), ("nested more than 8 levels deep",)
    ),
    "bytes": Row("odd shapes", lambda env: env.to_file(lead_ids=[A, A.encode()]), ("are not valid: b'3a6d5ea2",)),
    "hook: one bad id among good ones": Row(
        "not a GUID", lambda env: env.hook_fetch([*env.good_ids, "x"]), ("are not valid: 'x'",)
    ),
    # -- activity_event ----------------------------------------------------------------------
    **{
        f"activity_event {value!r}": Row(
            "activity_event",
            lambda env, value=value: env.to_file(activity_event=value),
            ("activity_event must be an integer event code",),
        )
        for value in ("email", 2.5, True, [201], "20 1")
    },
    "hook: activity_event 'x'": Row(
        "activity_event",
        lambda env: env.hook_fetch(env.good_ids, activity_event="x"),
        ("activity_event must be an integer event code (e.g. 201)",),
    ),
    # -- connections -------------------------------------------------------------------------
    "unknown LeadSquared connection": Row(
        "unknown connection",
        lambda env: env.to_sql(leadsquared_conn_id="no_such_lsq"),
        ("connection 'no_such_lsq' is not defined", "AIRFLOW_CONN_NO_SUCH_LSQ"),
    ),
    "unknown SQL connection": Row(
        "unknown connection",
        lambda env: env.to_sql(conn_id="no_such_db"),
        ("connection 'no_such_db' is not defined", "AIRFLOW_CONN_NO_SUCH_DB"),
    ),
    "hook: unknown connection": Row(
        "unknown connection",
        lambda env: env.hook_fetch(env.good_ids, conn_id="no_such_lsq"),
        ("connection 'no_such_lsq' is not defined", "Admin > Connections"),
    ),
    "no Access Key": Row("no keys", keys("", "x" * 24), ("has no Access Key (login)", "copy them")),
    "no Secret Key": Row("no keys", keys("y" * 24, ""), ("has no Secret Key (password)", "API and Webhooks")),
    "no keys at all": Row("no keys", keys(None, None), ("has no Access Key (login) and no Secret Key (password)",)),
    "keys that are blanks": Row("no keys", keys("   ", "\t"), ("has no Access Key (login)",)),
    # -- hosts -------------------------------------------------------------------------------
    "host with spaces": Row("host", host("not a host"), ("is not a host name or base URL", "expected e.g.")),
    "plain http to a remote host": Row(
        "host",
        host("http://api-in21.leadsquared.com"),
        ("plain http is only allowed for a loopback host", "use https://api-in21.leadsquared.com"),
    ),
    "another scheme": Row("host", host("ftp://api.leadsquared.com"), ("must use https://",)),
    "credentials in the host": Row(
        "host", host("https://user:pw@api.leadsquared.com"), ("must not carry credentials", "put the Access Key")
    ),
    "a query string in the host": Row(
        "host", host("https://api.leadsquared.com/?accessKey=x"), ("is not a host name or base URL",)
    ),
    "a port out of range": Row("host", host("https://api.leadsquared.com:99999"), ("has an invalid port",)),
    # -- the extra's text --------------------------------------------------------------------
    "extra cut short": Row(
        "extra text", extra_text('{"page_size": 10'), ("extra is not valid JSON", "expected an object such as")
    ),
    "extra a list": Row("extra text", extra_text("[25]"), ("extra must be a JSON object",)),
    "extra misspelt": Row(
        "extra text",
        extra_text('{"rate_limt_calls": 5}'),
        ("unknown extra 'rate_limt_calls' (did you mean 'rate_limit_calls'?)",),
    ),
    # -- tables ------------------------------------------------------------------------------
    "table with SQL in it": Row(
        "table",
        lambda env: LeadSquaredActivitiesToSqlOperator(
            task_id="t", lead_ids=env.good_ids, conn_id=env.sqlite_conn_id, table="x; DROP TABLE y"
        ),
        ("'x; DROP TABLE y' is not a plain SQL identifier", "letters, digits and underscores"),
        when="parse",
    ),
    "table with a quote": Row(
        "table",
        lambda env: LeadSquaredActivitiesToSqlOperator(
            task_id="t", lead_ids=env.good_ids, conn_id=env.sqlite_conn_id, table='activities"; --'
        ),
        ("is not a plain SQL identifier",),
        when="parse",
    ),
    "file loader: table with SQL in it": Row(
        "table",
        lambda env: LeadSquaredActivityFilesToSqlOperator(
            task_id="t", paths=[], conn_id=env.sqlite_conn_id, table="x; DROP TABLE y"
        ),
        ("is not a plain SQL identifier",),
        when="parse",
    ),
    # -- paths -------------------------------------------------------------------------------
    "path rendering to nothing": Row("path: nothing", path("{{ params.path }}", path=""), ("path is empty",)),
    "path rendering to blanks": Row(
        "path: nothing", path("{{ params.path }}", path="  "), ("did its template render to nothing?",)
    ),
    "scheme without a path": Row(
        "path: nothing", path("file://{{ params.folder }}", folder=""), ("has no path", "must name a file")
    ),
    "store without a bucket": Row("path: nothing", path("s3://aws_default@{{ params.b }}", b=""), ("has no path",)),
    "path rendering to a folder": Row(
        "path: nothing", path("file://<storage>/{{ params.name }}", name=""), ("names a folder, not a file",)
    ),
    "'..' escaping the configured storage": Row(
        "path: outside",
        path("file://<storage>/{{ params.sub }}/a.jsonl", "file://<storage>", sub="../../elsewhere"),
        ("contains a '..' segment",),
    ),
    "'..' without a configured storage": Row(
        "path: outside", path("file://<storage>/{{ params.sub }}/a.jsonl", sub=".."), ("contains a '..' segment",)
    ),
    "rendered outside the configured storage": Row(
        "path: outside",
        path("file://<tmp>/{{ params.folder }}/a.jsonl", "file://<storage>", folder="elsewhere"),
        ("is outside the configured storage base_path", "write under that folder"),
    ),
    "a sibling folder sharing the prefix": Row(
        "path: outside",
        path("file://<storage>{{ params.suffix }}/a.jsonl", "file://<storage>", suffix="-evil"),
        ("is outside the configured storage",),
    ),
    "another store than the configured one": Row(
        "path: outside",
        path("s3://aws_default@bucket/{{ params.key }}", "file://<storage>", key="a.jsonl"),
        ("is outside the configured storage",),
    ),
    "a relative path": Row(
        "path: outside", path("{{ params.folder }}/a.jsonl", folder="data"), ("is a relative path", "absolute")
    ),
    # -- windows -------------------------------------------------------------------------------
    **{
        f"window {name}": Row(
            "window",
            lambda env, start=start, end=end, params=params: env.to_file(
                params=params, changed_from=start, changed_to=end
            ),
            says,
        )
        for name, start, end, params, says in [
            ("empty", "2025-01-05T00:00:00+00:00", "2025-01-05T00:00:00+00:00", {}, ("is empty", "must be after")),
            ("reversed", "2025-01-06", "2025-01-05", {}, ("is reversed", "must be after")),
            ("not a date", "last tuesday", "2025-01-05", {}, ("changed_from 'last tuesday' is not a date",)),
            ("a number", 20250105, "2025-01-06", {}, ("must be a date and time",)),
            ("rendering to nothing", "{{ params.start }}", "2025-01-06", {"start": ""}, ("render to nothing",)),
            ("one bound", "2025-01-05", None, {}, ("changed_to is missing", "give both")),
        ]
    },
    # -- formats, sizes, limits --------------------------------------------------------------
    "unknown file format": Row(
        "format",
        lambda env: LeadSquaredActivitiesToObjectStorageOperator(
            task_id="t", lead_ids=env.good_ids, path=f"file://{env.storage}/a.xlsx", file_format="xlsx"
        ),
        ("file_format 'xlsx' is not supported: use one of jsonl, csv, parquet",),
        when="parse",
    ),
    **{
        f"batch_size {value!r}": Row(
            "limits",
            lambda env, value=value: LeadSquaredActivitiesToSqlOperator(
                task_id="t", lead_ids=env.good_ids, conn_id=env.sqlite_conn_id, batch_size=value
            ),
            ("batch_size must be a positive integer",),
            when="parse",
        )
        for value in (0, -5)
    },
    **{
        f"{name} {value!r}": Row("limits", extra(name, value), (f"extra {name!r}", says))
        for name, value, says in [
            ("page_size", 0, "must be between 1 and 5000"),
            ("page_size", -100, "must be between 1 and 5000"),
            ("page_size", 1_000_000, "must be between 1 and 5000"),
            ("page_size", "lots", "must be an integer"),
            ("page_size", 2.5, "must be an integer"),
            ("rate_limit_calls", 0, "must be between 1 and 10000"),
            ("rate_limit_calls", -1, "must be between 1 and 10000"),
            ("rate_limit_calls", 10**9, "must be between 1 and 10000"),
            ("rate_limit_period_seconds", 0, "must be between 0.1 and 86400"),
            ("rate_limit_period_seconds", -5, "must be between 0.1 and 86400"),
            ("rate_limit_period_seconds", "nan", "must be between 0.1 and 86400"),
            ("rate_limit_period_seconds", "inf", "must be between 0.1 and 86400"),
            ("rate_limit_period_seconds", 10**7, "must be between 0.1 and 86400"),
            # Beyond a float, or digits beyond int()'s limit: out of range, never a crash.
            ("page_size", 10**400, "must be between 1 and 5000"),
            ("timeout_seconds", -(10**400), "must be between 0.1 and 3600"),
            ("max_pages", "9" * 5000, "must be between 1 and 1000000"),
        ]
    },
}


@pytest.fixture
def env(activity_sandbox, tmp_path: Path, sqlite_conn_id: str, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(activity_sandbox, tmp_path, sqlite_conn_id, monkeypatch)


@pytest.mark.parametrize("case", list(ROWS))
def test_bad_input_is_refused_clearly_before_any_call(env: Env, case: str) -> None:
    row = ROWS[case]
    with pytest.raises(LeadSquaredConfigError) as info:
        row.act(env)
    message = str(info.value)
    for fragment in row.says:
        assert fragment in message, message
    assert isinstance(info.value, ValueError)
    assert env.sandbox.stats()["calls"] == 0
    env.nothing_written()


def test_every_row_of_the_readme_table_is_covered() -> None:
    covered = {row.row for row in ROWS.values()}
    assert covered == {
        "None",
        "empty",
        "whitespace",
        "not a GUID",
        "odd shapes",
        "activity_event",
        "unknown connection",
        "no keys",
        "extra text",
        "host",
        "table",
        "path: nothing",
        "path: outside",
        "format",
        "limits",
        "window",
    }
    # The rows refused by the operator's constructor are refused when the DAG file is parsed.
    assert {row.row for row in ROWS.values() if row.when == "parse"} == {"table", "format", "limits"}
    # The README counts the cases, twice.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"**Bad input refused clearly.** {len(ROWS)} bad inputs" in readme
    assert f"`tests/reliability/test_bad_input.py` ({len(ROWS)} cases)" in readme


# -- accepted shapes: flattened, de-duplicated, fetched once ------------------------------------


def test_odd_but_valid_shapes_and_duplicates_are_fetched_once(env: Env) -> None:
    ids = env.sandbox.lead_ids()[:4]
    shapes = [ids[0], [ids[1].upper(), (ids[0],)], [[f" {ids[2]} "]], f"{ids[3]}\n{ids[1]};{ids[0]}", ids[2]]
    summary = env.to_file(lead_ids=shapes)
    assert summary["leads"] == 4
    written = (env.storage / "activities.jsonl").read_text("utf-8").splitlines()
    expected = sum(len(env.sandbox.truth(i)) for i in ids)
    assert len(written) == expected == summary["activities"]
    # Each lead asked for once: four leads of at most one page each, at most one paging probe.
    assert 4 <= env.sandbox.stats()["calls"] <= 5
    assert all(len(env.sandbox.truth(i)) <= 1000 for i in ids)


def test_a_list_rendered_as_text_is_read_back_as_the_list(env: Env) -> None:
    ids = env.sandbox.lead_ids()[:3]
    summary = env.to_file(lead_ids="{{ params.ids }}", params={"ids": [*ids, ids[0]]})  # renders "['..', ...]"
    assert summary["leads"] == 3


# -- 100,000 lead ids --------------------------------------------------------------------------

HUNDRED_THOUSAND = 100_000


def guids(count: int) -> list[str]:
    return [str(uuid.UUID(int=index + 1, version=4)) for index in range(count)]


def test_100k_ids_with_one_bad_are_refused_before_any_call_in_bounded_memory(env: Env) -> None:
    ids = [*guids(HUNDRED_THOUSAND), "not-a-guid", *["bad"] * 20]
    tracemalloc.start()
    try:
        with pytest.raises(LeadSquaredConfigError) as info:
            env.to_file(lead_ids=ids)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "21 lead id(s) are not valid: 'not-a-guid', 'bad'" in message and "and 11 more" in message
    assert len(message) < 600
    # Memory proportional to the distinct valid ids (a string and a dict slot each), no more.
    assert peak < HUNDRED_THOUSAND * 250, f"peak {peak / 1e6:.1f} MB"
    assert env.sandbox.stats()["calls"] == 0
    env.nothing_written()


def test_100k_ids_as_one_comma_separated_string_of_duplicates_fetch_each_lead_once(env: Env) -> None:
    distinct = env.sandbox.lead_ids()[:5]
    text = ",".join(distinct[i % 5] for i in range(HUNDRED_THOUSAND))
    tracemalloc.start()
    try:
        summary = env.to_sql(lead_ids=text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary["leads"] == 5
    assert summary["activities"] == sum(len(env.sandbox.truth(i)) for i in distinct)
    assert env.sandbox.stats()["calls"] <= 5 + 1 + sum(len(env.sandbox.truth(i)) // 1000 for i in distinct)
    assert peak < 32 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_100k_distinct_ids_are_fetched_lazily(env: Env) -> None:
    # Unknown leads have no activities in the sandbox: one call each. Reading the first ten
    # results must not have started the other 99,990 (bounded threads, futures and memory).
    ids = guids(HUNDRED_THOUSAND)
    hook = LeadSquaredHook(leadsquared_conn_id=env.connection("lsq_lazy", max_concurrency=8))
    tracemalloc.start()
    try:
        fetched = hook.iter_leads_activities(ids)
        first = [next(fetched) for _ in range(10)]
        fetched.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(activities == [] for _, activities in first)
    time.sleep(0.2)  # leads that were in flight finish their call
    assert env.sandbox.stats()["calls"] <= 10 + hook.settings.max_concurrency == 18
    hook.close()
    assert peak < HUNDRED_THOUSAND * 250, f"peak {peak / 1e6:.1f} MB"
