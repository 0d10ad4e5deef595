"""Connection settings are checked before any call, with messages that name what to fix."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_leadact.connection import build_base_url, settings_from_connection
from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.get_provider_info import get_provider_info

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
    ],
)
def test_hosts(host, expected):
    assert build_base_url("c", host) == expected


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("", "has no host"),
        (None, "has no host"),
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
    assert settings.rate_limit_backend == "memory"
    assert 0 < settings.safety_margin_seconds < 1
    assert ACCESS not in repr(settings) and SECRET not in repr(settings)
    assert ACCESS not in settings.account_key


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


def test_extra_that_is_not_json_is_refused():
    bad = Connection(conn_id="lsq", conn_type="leadsquared", host="h.example.com", login=ACCESS, password=SECRET)
    bad.extra = "{not json"
    with pytest.raises(LeadSquaredConfigError, match="extra is not valid JSON"):
        settings_from_connection(bad)


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
