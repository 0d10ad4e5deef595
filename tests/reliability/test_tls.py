"""TLS certificates are verified for every https host; plain http only reaches loopback hosts.

A TLS terminator on loopback (tests/reliability/servers.py) serves https in front of the real
sandbox with a self-signed certificate. Trusted through ``REQUESTS_CA_BUNDLE`` the full fetch
works, which shows the server is sound; untrusted, or for another host name, the hook refuses
it at the handshake, before a single request (so before any key) is sent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from airflow_provider_leadact.exceptions import LeadSquaredConfigError, LeadSquaredError, LeadSquaredTransientError
from airflow_provider_leadact.hooks.leadsquared import LeadSquaredHook
from airflow_provider_leadact.operators import LeadSquaredActivitiesToObjectStorageOperator
from tests.support.proxies import make_certificate, tls_terminator
from tests.support.sandbox import KEYS


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("certs")
    return {
        "loopback": make_certificate(folder, dns_names=["localhost"], ip_addresses=["127.0.0.1"], name="loopback"),
        "other-host": make_certificate(folder, dns_names=["leadact.invalid"], ip_addresses=[], name="other"),
    }


@pytest.fixture(autouse=True)
def _no_ca_override(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests also reads these; each test decides what is trusted.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def sandbox_address(sandbox) -> tuple[str, int]:
    return sandbox.config.host, sandbox.port


def test_the_session_verifies_certificates(keyed_sandbox, set_connection) -> None:
    hook = LeadSquaredHook(leadsquared_conn_id=set_connection("lsq_https", "api-in21.leadsquared.com"))
    assert hook.settings.base_url == "https://api-in21.leadsquared.com"
    assert hook.session.verify is True
    # The keys ride in the session's headers, never in a URL.
    assert set(hook.session.headers) >= {"x-LSQ-AccessKey", "x-LSQ-SecretKey"}


def test_a_trusted_certificate_serves_the_exact_truth(keyed_sandbox, set_connection, certificates, monkeypatch) -> None:
    cert, key = certificates["loopback"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with tls_terminator(sandbox_address(keyed_sandbox), cert, key) as (url, stats):
        hook = LeadSquaredHook(leadsquared_conn_id=set_connection("lsq_tls_ok", url))
        ids = keyed_sandbox.lead_ids()[:5]
        assert dict(hook.iter_leads_activities(ids)) == {i: keyed_sandbox.truth(i) for i in ids}
        hook.close()
    assert stats.handshakes >= 1 and stats.failed_handshakes == 0
    assert keyed_sandbox.stats()["calls"] >= 5


@pytest.mark.parametrize(
    ("certificate", "reason"),
    [("loopback", "self-signed certificate"), ("other-host", "mismatch")],
)
def test_an_unverifiable_certificate_is_refused_before_any_request(
    keyed_sandbox, set_connection, certificates, monkeypatch, certificate: str, reason: str
) -> None:
    cert, key = certificates[certificate]
    if certificate == "other-host":
        # Trusted, but issued for another host name: the name must match too.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with tls_terminator(sandbox_address(keyed_sandbox), cert, key) as (url, stats):
        hook = LeadSquaredHook(leadsquared_conn_id=set_connection("lsq_tls_bad", url, max_attempts=5))
        lead = keyed_sandbox.lead_ids()[0]
        started = time.monotonic()
        with pytest.raises(LeadSquaredError) as info:
            list(hook.get_lead_activities(lead))
        elapsed = time.monotonic() - started
    message = str(info.value)
    assert not isinstance(info.value, LeadSquaredTransientError), "a bad certificate is not a passing fault"
    assert "certificate" in message and reason in message and url in message, message
    assert KEYS["access_key"] not in message and KEYS["secret_key"] not in message
    # Refused at the handshake: the sandbox behind never saw a request, and it was not retried.
    assert keyed_sandbox.stats()["calls"] == 0
    assert stats.handshakes == 0 and stats.failed_handshakes == 1
    assert hook.stats["retries"] == 0 and elapsed < 5


@pytest.mark.parametrize("host", ["http://api-in21.leadsquared.com", "http://10.1.2.3:8080", "http://example.com"])
def test_plain_http_to_a_remote_host_is_refused_before_any_call(activity_sandbox, set_connection, tmp_path, host):
    conn_id = set_connection("lsq_plain_http", host)
    op = LeadSquaredActivitiesToObjectStorageOperator(
        task_id="t",
        lead_ids=activity_sandbox.lead_ids()[:2],
        path=f"file://{tmp_path}/a.jsonl",
        leadsquared_conn_id=conn_id,
    )
    with pytest.raises(LeadSquaredConfigError, match="plain http is only allowed for a loopback host") as info:
        op.execute({})
    assert "https://" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("loopback", ["127.0.0.1", "localhost"])
def test_plain_http_to_loopback_is_accepted(keyed_sandbox, set_connection, loopback: str) -> None:
    hook = LeadSquaredHook(leadsquared_conn_id=set_connection("lsq_loop", f"http://{loopback}:{keyed_sandbox.port}"))
    lead = keyed_sandbox.lead_ids()[1]
    assert list(hook.get_lead_activities(lead)) == keyed_sandbox.truth(lead)
