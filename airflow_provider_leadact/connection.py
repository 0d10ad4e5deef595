"""Settings of a LeadSquared connection, parsed and checked before any API call.

The Airflow connection carries the Access Key (login), the Secret Key (password), the API
host (host) and optional extras. Everything that could make a run fail later (a host that is
not a host, plain http to a remote host, a zero page size, an absurd rate limit) is refused
here with a message that names the setting to fix.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_leadact.exceptions import LeadSquaredConfigError

CONN_TYPE = "leadsquared"

#: Numeric extras a connection may carry: name -> (type, minimum, maximum). The defaults are
#: those of :class:`LeadSquaredSettings`.
EXTRA_FIELDS: dict[str, tuple[type, float, float]] = {
    "rate_limit_calls": (int, 1, 10_000),
    "rate_limit_period_seconds": (float, 0.1, 86_400),
    "page_size": (int, 1, 5000),
    "timeout_seconds": (float, 0.1, 3600),
    "max_attempts": (int, 1, 100),
    "retry_wait_seconds": (float, 0.0, 600),
    "retry_max_wait_seconds": (float, 0.0, 3600),
    "max_pages": (int, 1, 1_000_000),
    "rate_limit_margin_seconds": (float, -1.0, 60),
    "max_concurrency": (int, 1, 256),
}
#: Text extras (checked by their own module: the backend's form by :mod:`.rate_limit`).
STRING_EXTRAS: tuple[str, ...] = ("rate_limit_backend",)
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class LeadSquaredSettings:
    """Everything the hook needs from a connection, validated.

    ``repr`` leaves the keys out so that a settings object can be logged.
    """

    conn_id: str
    base_url: str
    access_key: str
    secret_key: str
    rate_limit_calls: int = 25
    rate_limit_period_seconds: float = 5.0
    page_size: int = 1000
    timeout_seconds: float = 60.0
    max_attempts: int = 6
    retry_wait_seconds: float = 1.0
    retry_max_wait_seconds: float = 30.0
    max_pages: int = 10_000
    rate_limit_margin_seconds: float = -1.0
    max_concurrency: int = 64
    rate_limit_backend: str = "memory"

    def __repr__(self) -> str:
        return (
            f"LeadSquaredSettings(conn_id={self.conn_id!r}, base_url={self.base_url!r}, "
            f"rate_limit={self.rate_limit_calls}/{self.rate_limit_period_seconds}s, "
            f"page_size={self.page_size}, backend={self.rate_limit_backend!r})"
        )

    __str__ = __repr__

    @property
    def account_key(self) -> str:
        """A stable, non-reversible name for the account's budget (never the key itself)."""
        return hashlib.sha256(self.access_key.encode()).hexdigest()[:24]

    @property
    def safety_margin_seconds(self) -> float:
        """Extra time added to the client-side window so that arrivals at the server, whose
        spacing jitters with the network, never put more calls in one server window."""
        if self.rate_limit_margin_seconds >= 0:
            return self.rate_limit_margin_seconds
        return min(1.0, max(0.1, 0.03 * self.rate_limit_period_seconds))


def _extras(conn: Any, conn_id: str) -> dict[str, Any]:
    """The connection's extras, refusing text that is not a JSON object and names not known.

    Airflow turns an extra that is not JSON into ``{}`` with a log line, and a misspelt name
    would silently leave its default in force: both are refused here instead.
    """
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            extras = json.loads(raw)
        except ValueError as error:
            raise LeadSquaredConfigError(
                f"connection {conn_id!r}: extra is not valid JSON ({error.msg} at character {error.pos}); "
                'expected an object such as {"rate_limit_calls": 25}'
            ) from None
        if not isinstance(extras, dict):
            raise LeadSquaredConfigError(
                f'connection {conn_id!r}: extra must be a JSON object such as {{"rate_limit_calls": 25}}'
            )
    else:
        extras = dict(conn.extra_dejson or {})
    known = [*EXTRA_FIELDS, *STRING_EXTRAS]
    unknown = []
    for name in extras:
        plain = name.removeprefix(f"extra__{CONN_TYPE}__")
        if plain not in known:
            guess = difflib.get_close_matches(plain, known, n=1)
            unknown.append(f"{name!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    if unknown:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: unknown extra {', '.join(unknown)}; known extras: {', '.join(known)}"
        )
    return extras


def _extra_value(extras: dict[str, Any], name: str) -> Any:
    # The UI's conn-fields may store prefixed names; plain names win.
    if name in extras:
        return extras[name]
    return extras.get(f"extra__{CONN_TYPE}__{name}")


def _parse_number(conn_id: str, name: str, raw: Any, kind: type, low: float | None, high: float | None):
    if isinstance(raw, bool):
        raise LeadSquaredConfigError(f"connection {conn_id!r}: extra {name!r} must be a number, got {raw!r}")
    try:
        value = kind(raw)
        if kind is int and float(raw) != value:
            raise ValueError
    except (TypeError, ValueError):
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: extra {name!r} must be {'an integer' if kind is int else 'a number'}, got {raw!r}"
        ) from None
    # NaN compares false with every bound, so it is refused explicitly (as is infinity).
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: extra {name!r} is {value!r}; it must be between {low:g} and {high:g}"
        )
    return value


def is_loopback(hostname: str) -> bool:
    """Tell whether ``hostname`` names this machine (where plain http cannot be overheard)."""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def build_base_url(conn_id: str, host: str | None, port: int | None = None, schema: str | None = None) -> str:
    """Turn the connection's host into the API's base URL.

    Accepts a region host name (``api-in21.leadsquared.com``, https is implied) or a full base
    URL (``http://127.0.0.1:8080`` for the sandbox). Plain http is only accepted for loopback
    hosts, so keys never cross a network unencrypted.
    """
    raw = (host or "").strip()
    if not raw:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r} has no host: set it to your account's API host, e.g. "
            "api-in21.leadsquared.com (UserByAccessKey.Get on api.leadsquared.com tells which)"
        )
    if "://" not in raw:
        scheme = (schema or "").strip().lower() if (schema or "").strip().lower() in ("http", "https") else ""
        raw = f"{scheme or 'https'}://{raw}"
    parts = urlsplit(raw)
    try:
        hostname = parts.hostname or ""
        url_port = parts.port
    except ValueError:
        raise LeadSquaredConfigError(f"connection {conn_id!r}: host {host!r} has an invalid port") from None
    if parts.scheme not in ("http", "https"):
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: host {host!r} must use https:// (or http:// for the local sandbox)"
        )
    if not hostname or not (_HOST.match(hostname) or _is_ip(hostname)) or parts.query or parts.fragment:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: host {host!r} is not a host name or base URL; "
            "expected e.g. api-in21.leadsquared.com or http://127.0.0.1:8080"
        )
    if parts.username or parts.password:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: the host must not carry credentials; put the Access Key in "
            "login and the Secret Key in password"
        )
    if parts.scheme == "http" and not is_loopback(hostname):
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: plain http is only allowed for a loopback host (the sandbox); "
            f"use https://{hostname} so the keys travel encrypted"
        )
    effective_port = url_port or port
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if effective_port:
        netloc = f"{netloc}:{effective_port}"
    path = parts.path.rstrip("/")
    if path.lower().endswith("/v2"):
        path = path[:-3]
    return f"{parts.scheme}://{netloc}{path}"


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def settings_from_connection(conn: Any) -> LeadSquaredSettings:
    """Build :class:`LeadSquaredSettings` from an Airflow connection, checking every field.

    :param conn: an Airflow ``Connection`` (anything with ``conn_id``, ``host``, ``login``,
        ``password``, ``port``, ``schema`` and ``extra_dejson``).
    :raises LeadSquaredConfigError: naming the field to fix.
    """
    conn_id = getattr(conn, "conn_id", None) or "?"
    access_key = (conn.login or "").strip()
    secret_key = (conn.password or "").strip()
    missing = [
        name for name, value in (("Access Key (login)", access_key), ("Secret Key (password)", secret_key)) if not value
    ]
    if missing:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r} has no {' and no '.join(missing)}: copy them from LeadSquared "
            "(My Profile > Settings > API and Webhooks)"
        )
    base_url = build_base_url(conn_id, conn.host, conn.port, conn.schema)
    extras = _extras(conn, conn_id)
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, (kind, low, high) in EXTRA_FIELDS.items():
        raw = _extra_value(extras, name)
        if raw is not None and raw != "":
            try:
                values[name] = _parse_number(conn_id, name, raw, kind, low, high)
            except LeadSquaredConfigError as error:
                problems.append(str(error))
    for name in STRING_EXTRAS:
        raw = _extra_value(extras, name)
        if raw is not None and raw != "":
            values[name] = str(raw).strip()
    if problems:
        # Every bad extra at once: fixing them one failed run at a time wastes runs.
        raise LeadSquaredConfigError("; ".join(problems))
    settings = LeadSquaredSettings(
        conn_id=conn_id, base_url=base_url, access_key=access_key, secret_key=secret_key, **values
    )
    # Imported here: the backend module imports redis lazily and checks the URL's form.
    from airflow_provider_leadact.rate_limit import check_backend

    check_backend(conn_id, settings.rate_limit_backend)
    return settings
