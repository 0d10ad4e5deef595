"""Connection settings are checked before any call, with messages that name what to fix."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from airflow.sdk import Connection

from airflow_provider_leadact.connection import BASE_SETTINGS, account_key, build_base_url, settings_from_connection
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.extras import EXTRAS, extras_table
from airflow_provider_leadact.get_provider_info import get_provider_info
from airflow_provider_leadact.rate_limit import Backend

README = Path(__file__).resolve().parents[1] / "README.md"

ACCESS = "u$r0123456789abcdefaccess"
SECRET = "s3cr3t0123456789abcdefsecret"


def conn(host="api-in21.leadsquared.com", login=ACCESS, password=SECRET, **extra):
    return Connection(
        conn_id="lsq", conn_type="leadsquared", host=host, login=login, password=password, extra=json.dumps(extra)
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("api-in21.leadsquared.com", "https://api-in21.leadsquared.com"),
        ("https://api-us11.leadsquared.com/", "https://api-us11.leadsquared.com"),
        ("https://api.leadsquared.com/v2/", "https://api.leadsquared.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("", "https://api.leadsquared.com"),
        (None, "https://api.leadsquared.com"),
        ("  ", "https://api.leadsquared.com"),
    ],
)
def test_hosts(host, expected):
    assert build_base_url("c", host) == expected


def test_a_port_of_zero_from_the_form_is_no_port():
    assert build_base_url("c", "api-in21.leadsquared.com", 0) == "https://api-in21.leadsquared.com"
    assert build_base_url("c", "http://127.0.0.1:8080", 0) == "http://127.0.0.1:8080"
    settings = settings_from_connection(
        Connection(
            conn_id="lsq",
            conn_type="leadsquared",
            host="api-in21.leadsquared.com",
            port=0,
            login=ACCESS,
            password=SECRET,
        )
    )
    assert settings.base_url == "https://api-in21.leadsquared.com"


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("http://api.leadsquared.com", "plain http is only allowed for a loopback host"),
        ("ftp://api.leadsquared.com", "https://"),
        ("not a host", "not a host name"),
        ("https://api.leadsquared.com/?accessKey=x", "not a host name"),
        ("https://user:pw@api.leadsquared.com", "must not carry credentials"),
        ("https://api.leadsquared.com:99999", "invalid port"),
    ],
)
def test_bad_hosts(host, message):
    with pytest.raises(LeadSquaredConfigError, match=message):
        build_base_url("c", host)


def test_defaults_and_extras():
    settings = settings_from_connection(conn(rate_limit_calls="10", rate_limit_period_seconds=5, page_size=250))
    assert settings.base_url == "https://api-in21.leadsquared.com"
    assert (settings.rate_limit_calls, settings.rate_limit_period_seconds, settings.page_size) == (10, 5.0, 250)
    defaults = settings_from_connection(conn())
    assert defaults.rate_limit_backend == Backend("file")
    assert defaults.rate_limit_calls is None  # assumed (25) and learned, not stated
    assert defaults.rate_limit_margin_seconds is None and defaults.daily_call_cap is None
    assert ACCESS not in repr(settings) and SECRET not in repr(settings)


def test_the_budgets_name_is_not_the_key_and_differs_per_host():
    one = account_key(ACCESS, "https://api-in21.leadsquared.com")
    assert ACCESS not in one and one == account_key(ACCESS, "https://API-in21.leadsquared.com")
    assert one != account_key(ACCESS, "http://127.0.0.1:8080") != account_key(SECRET, "http://127.0.0.1:8080")


def test_prefixed_extras_from_the_ui_form_are_read():
    assert settings_from_connection(conn(extra__leadsquared__page_size=300)).page_size == 300


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"rate_limit_calls": 0}, "rate_limit_calls"),
        ({"rate_limit_calls": -5}, "rate_limit_calls"),
        ({"rate_limit_calls": 10**9}, "rate_limit_calls"),
        ({"rate_limit_calls": "many"}, "must be an integer"),
        ({"rate_limit_calls": 2.5}, "must be an integer"),
        ({"rate_limit_period_seconds": 0}, "rate_limit_period_seconds"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 100000}, "page_size"),
        ({"timeout_seconds": -1}, "timeout_seconds"),
        ({"rate_limit_backend": "zookeeper://x"}, "rate_limit_backend"),
        ({"page_size": True}, "page_size"),
        ({"rate_limit_margin_seconds": -1}, "rate_limit_margin_seconds"),
        ({"daily_call_cap": 0}, "daily_call_cap"),
        ({"daily_call_cap": "lots"}, "must be an integer"),
    ],
)
def test_bad_extras_are_refused(extra, message):
    with pytest.raises(LeadSquaredConfigError, match=message):
        settings_from_connection(conn(**extra))


def test_misspelt_extras_are_refused_with_a_hint():
    with pytest.raises(
        LeadSquaredConfigError, match="unknown extra 'rate_limt_calls' \\(did you mean 'rate_limit_calls'\\?\\)"
    ):
        settings_from_connection(conn(rate_limt_calls=5))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "extra is not valid JSON (Expecting property name enclosed in double quotes at character 1)"),
        # Valid JSON, but json.loads raises a plain ValueError (no .msg, no .pos) for an integer
        # longer than Python's int/str conversion limit (4,300 digits).
        ('{"page_size": %s}' % ("1" * 5000), "extra is not usable JSON (Exceeds the limit (4300 digits)"),
        ("[25]", "extra must be a JSON object"),
    ],
)
def test_extra_that_is_not_a_json_object_is_refused(text, message):
    bad = Connection(conn_id="lsq", conn_type="leadsquared", host="h.example.com", login=ACCESS, password=SECRET)
    bad.extra = text
    with pytest.raises(LeadSquaredConfigError) as info:
        settings_from_connection(bad)
    assert message in str(info.value)
    assert len(str(info.value)) < 300, "the message quotes the whole value"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # Beyond a float: float() and int(inf) raise OverflowError, which must not escape.
        ({"page_size": 10**400}, "extra 'page_size' is 1000000000000000000000000000000000000000... (401 characters)"),
        ({"timeout_seconds": -(10**400)}, "extra 'timeout_seconds' is -10000000000"),
        ('{"page_size": 1e999}', "extra 'page_size' is inf; it must be between 1 and 5000"),
        # Digits beyond int()'s limit, as text: out of range, not "not an integer".
        ({"max_pages": "9" * 5000}, "(5002 characters); it must be between 1 and 1000000"),
        ({"rate_limit_backend": "zookeeper://" + "x" * 500}, "extra 'rate_limit_backend' is 'zookeeper://xxxx"),
    ],
)
def test_absurdly_large_extras_are_refused_with_a_short_message(extra, message):
    bad = conn()
    bad.extra = extra if isinstance(extra, str) else json.dumps(extra)
    with pytest.raises(LeadSquaredConfigError) as info:
        settings_from_connection(bad)
    assert message in str(info.value)
    assert len(str(info.value)) < 400, "the message quotes the whole value"


def test_every_bad_extra_is_reported_at_once():
    with pytest.raises(LeadSquaredConfigError) as info:
        settings_from_connection(conn(rate_limit_calls=0, page_size=9000, rate_limit_backend="nope"))
    message = str(info.value)
    assert "'rate_limit_calls' is 0" in message and "'page_size' is 9000" in message


@pytest.mark.parametrize(("login", "password"), [("", SECRET), (ACCESS, ""), (None, None)])
def test_missing_keys_are_refused(login, password):
    with pytest.raises(LeadSquaredConfigError, match="has no") as info:
        settings_from_connection(conn(login=login, password=password))
    assert ACCESS not in str(info.value) and SECRET not in str(info.value)


def test_provider_info_declares_the_connection_form():
    info = get_provider_info()
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "leadsquared"
    assert conn_type["hook-class-name"] == "airflow_provider_leadact.hooks.leadsquared.LeadSquaredHook"
    assert conn_type["ui-field-behaviour"]["relabeling"] == {
        "login": "Access Key",
        "password": "Secret Key",
        "host": "API host",
    }
    from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook

    behaviour = LeadSquaredHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["login"] == "Access Key"
    widgets = LeadSquaredHook.get_connection_form_widgets()
    assert set(widgets) == set(conn_type["conn-fields"])


@pytest.mark.filterwarnings("ignore:ProvidersManager.hooks is deprecated")
def test_airflow_providers_manager_sees_the_provider():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "airflow-provider-leadact" in manager.providers
    hook = manager.hooks.get("leadsquared")  # the providers manager of the API server and UI
    assert hook is not None and hook.hook_class_name.endswith("LeadSquaredHook")
    assert manager.field_behaviours["leadsquared"]["relabeling"]["password"] == "Secret Key"


def test_every_extra_is_declared_once_and_fills_the_settings():
    settings = settings_from_connection(conn())
    declared = [f.name for f in dataclasses.fields(settings) if f.name not in BASE_SETTINGS]
    assert sorted(declared) == sorted(extra.name for extra in EXTRAS)
    for extra in EXTRAS:
        value = getattr(settings, extra.name)
        if extra.kind is str:
            assert str(value) == extra.default
        else:
            assert value == extra.default, extra.name


def test_extras_at_their_bounds_are_accepted():
    highest = settings_from_connection(conn(**{e.name: e.high for e in EXTRAS if e.high is not None}))
    assert highest.rate_limit_margin_seconds == 60 and highest.daily_call_cap == 100_000_000
    lowest = settings_from_connection(conn(**{e.name: e.low for e in EXTRAS if e.low is not None}))
    assert lowest.rate_limit_margin_seconds == 0 and lowest.daily_call_cap == 1


def test_the_form_comes_from_the_declaration():
    (conn_type,) = get_provider_info()["connection-types"]
    fields = conn_type["conn-fields"]
    assert list(fields) == [e.name for e in EXTRAS if e.in_form]
    for extra in EXTRAS:
        if extra.in_form:
            schema = fields[extra.name]["schema"]
            assert fields[extra.name]["label"] == extra.label
            assert (schema.get("minimum"), schema.get("maximum"), schema.get("default")) == (
                extra.low,
                extra.high,
                extra.default,
            )


def test_the_readme_extras_table_matches_the_declaration():
    text = README.read_text(encoding="utf-8")
    tables = re.findall(r"^\| extra \| type \|.*?(?=\n\n|\Z)", text, flags=re.S | re.M)
    assert tables, "README.md has no extras table (a header starting '| extra | type |')"
    assert tables[0].strip() == extras_table(), (
        "README.md's extras table differs from airflow_provider_leadact/extras.py; replace it with the output of\n"
        "  python -c 'from airflow_provider_leadact.extras import extras_table; print(extras_table())'"
    )


def test_a_variable_airflow_could_not_read_is_explained(monkeypatch) -> None:
    from airflow_provider_leadact.connection import explain_unreadable

    base = {"conn_type": "leadsquared", "host": "http://127.0.0.1:9", "login": "a", "password": "b"}
    explain_unreadable("lsq_unset")  # no variable: nothing to say
    cases = {
        '{"page_size": 10': "extra is not valid JSON",
        "[25]": "extra must be a JSON object",
    }
    for extra, message in cases.items():
        monkeypatch.setenv("AIRFLOW_CONN_LSQ_ODD", json.dumps({**base, "extra": extra}))
        with pytest.raises(LeadSquaredConfigError, match=message):
            explain_unreadable("lsq_odd")
    huge = json.dumps(base)[:-1] + ', "extra": {"page_size": ' + "9" * 5000 + "}}"
    monkeypatch.setenv("AIRFLOW_CONN_LSQ_ODD", huge)
    with pytest.raises(LeadSquaredConfigError, match=r"AIRFLOW_CONN_LSQ_ODD is not usable JSON \(Exceeds the limit"):
        explain_unreadable("lsq_odd")
