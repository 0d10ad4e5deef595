"""Settings of a LeadSquared connection, parsed and checked before any API call.

The Airflow connection carries the Access Key (login), the Secret Key (password), the API
host (host) and optional extras, declared once in :mod:`.extras`; this module parses and
checks them against that declaration.

Everything that could make a run fail later (a host that is not a host, plain http to a
remote host, a zero page size, an absurd rate limit) is refused here with a message that
names the setting to fix.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_leadact.exceptions import LeadSquaredConfigError
from airflow_provider_leadact.extras import EXTRA_BY_NAME, EXTRAS, Extra
from airflow_provider_leadact.rate_limit import Backend, parse_backend

CONN_TYPE = "leadsquared"
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class LeadSquaredSettings:
    """Everything the hook needs from a connection, validated.

    One attribute per entry of :data:`EXTRAS`, for type checkers and readers; the defaults live
    in :data:`EXTRAS` only, and :func:`settings_from_connection` fills every attribute (a
    mismatch fails on the first connection read, and a test checks the two agree).
    ``repr`` leaves the keys out so that a settings object can be logged.
    """

    conn_id: str
    base_url: str
    access_key: str
    secret_key: str
    rate_limit_calls: int | None
    rate_limit_period_seconds: float
    rate_limit_backend: Backend
    daily_call_cap: int | None
    page_size: int
    timeout_seconds: float
    max_attempts: int
    retry_wait_seconds: float
    retry_max_wait_seconds: float
    max_pages: int
    max_concurrency: int
    rate_limit_margin_seconds: float | None

    def __repr__(self) -> str:
        return (
            f"LeadSquaredSettings(conn_id={self.conn_id!r}, base_url={self.base_url!r}, "
            f"rate_limit={self.rate_limit_calls}/{self.rate_limit_period_seconds}s, "
            f"page_size={self.page_size}, backend={str(self.rate_limit_backend)!r})"
        )

    __str__ = __repr__


#: The host of an empty ``host``: the global API host, which points to the account's region
#: host through ``UserByAccessKey.Get``.
GLOBAL_HOST = "api.leadsquared.com"


def account_key(access_key: str, base_url: str) -> str:
    """A stable, non-reversible name for an account's budget (never the key itself).

    The API host is part of it: one set of keys is one account, served by one host (another
    region's host answers 401), so keys used against two hosts are a sandbox and the real
    service, whose budgets must not be shared.
    """
    host = urlsplit(base_url).netloc.lower()
    return hashlib.sha256(f"{access_key}@{host}".encode()).hexdigest()[:24]


#: How each text extra's value becomes a setting (a ``ValueError`` names the accepted forms).
TEXT_PARSERS: dict[str, Callable[[str], Any]] = {"rate_limit_backend": parse_backend}

#: The attributes of :class:`LeadSquaredSettings` that are not extras.
BASE_SETTINGS = ("conn_id", "base_url", "access_key", "secret_key")


def explain_unreadable(conn_id: str) -> None:
    """Say why Airflow found no connection ``conn_id`` when ``AIRFLOW_CONN_<ID>`` is set nonetheless.

    Airflow (3.1 notably) gives up on a variable whose extra is not a JSON object and reports
    the connection as not defined; the user needs to hear what is wrong with the extra.

    :raises LeadSquaredConfigError: naming the variable and what to fix, when it is set.
    """
    import os
    from types import SimpleNamespace

    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    text = os.environ.get(variable)
    if not text:
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None  # a URI: Airflow's own parser is the judge of those
    except ValueError as error:  # valid JSON whose numbers Python refuses (over 4,300 digits)
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: {variable} is not usable JSON ({str(error).split(';')[0]}); "
            'expected an extra such as {"rate_limit_calls": 25}'
        ) from None
    if isinstance(value, dict) and "extra" in value:
        extra = value["extra"]
        _extras(SimpleNamespace(extra=extra if isinstance(extra, str) else json.dumps(extra)), conn_id)
    raise LeadSquaredConfigError(
        f"connection {conn_id!r}: {variable} is set, but Airflow could not read it as a connection: check that "
        'it is a JSON object such as {"conn_type": "leadsquared", "host": ..., "login": ..., "password": ...} '
        "or a URI"
    )


def _extras(conn: Any, conn_id: str) -> dict[str, Any]:
    """The connection's extras, refusing text that is not a JSON object and names not known.

    Airflow turns an extra that is not JSON into ``{}`` with a log line, and a misspelt name
    would silently leave its default in force: both are refused here instead.
    """
    raw = getattr(conn, "extra", None)
    if isinstance(raw, str) and raw.strip():
        try:
            extras = json.loads(raw)
        except json.JSONDecodeError as error:
            raise LeadSquaredConfigError(
                f"connection {conn_id!r}: extra is not valid JSON ({error.msg} at character {error.pos}); "
                'expected an object such as {"rate_limit_calls": 25}'
            ) from None
        except ValueError as error:
            # Valid JSON that Python refuses to turn into values: an integer longer than
            # sys.get_int_max_str_digits() (4,300 digits) raises a plain ValueError, without
            # the position a JSONDecodeError carries. Its advice (raise that limit) is not the
            # user's to follow, so only its first clause is kept.
            reason = str(error).split(";")[0]
            raise LeadSquaredConfigError(
                f"connection {conn_id!r}: extra is not usable JSON ({reason}); "
                'expected an object such as {"rate_limit_calls": 25}'
            ) from None
        if not isinstance(extras, dict):
            raise LeadSquaredConfigError(
                f'connection {conn_id!r}: extra must be a JSON object such as {{"rate_limit_calls": 25}}'
            )
    else:
        extras = dict(conn.extra_dejson or {})
    known = list(EXTRA_BY_NAME)
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


def _bound(number: float) -> str:
    """A bound as the README writes it: 1000000, not 1e+06."""
    return str(int(number)) if math.isfinite(number) and float(number).is_integer() else f"{number:g}"


def _shown(value: Any) -> str:
    """``repr`` of a value the user typed, cut short so that a message stays readable."""
    try:
        text = repr(value)
    except ValueError:  # an integer too long for str() (sys.get_int_max_str_digits())
        return "an integer of thousands of digits"
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


#: An integer written as text: one too long for ``int()`` is out of range, not "not an integer".
_INTEGER_TEXT = re.compile(r"\s*[+-]?\d+\s*")


def _parse_extra(conn_id: str, extra: Extra, raw: Any) -> Any:
    """Parse and check one extra's value against its declaration."""
    name = extra.name
    if extra.kind is str:
        try:
            return TEXT_PARSERS[name](str(raw))
        except ValueError as error:
            raise LeadSquaredConfigError(f"connection {conn_id!r}: extra {name!r} is {_shown(raw)}; {error}") from None
    if isinstance(raw, bool):
        raise LeadSquaredConfigError(f"connection {conn_id!r}: extra {name!r} must be a number, got {raw!r}")
    low = -math.inf if extra.low is None else extra.low
    high = math.inf if extra.high is None else extra.high
    out_of_range = LeadSquaredConfigError(
        f"connection {conn_id!r}: extra {name!r} is {_shown(raw)}; it must be between {_bound(low)} and {_bound(high)}"
    )
    try:
        value = extra.kind(raw)
        if extra.kind is int and float(raw) != value:
            raise ValueError
    except OverflowError:
        # Beyond a float (10**400) or an infinity for an integer extra: outside every bound.
        raise out_of_range from None
    except (TypeError, ValueError):
        if isinstance(raw, str) and _INTEGER_TEXT.fullmatch(raw):
            raise out_of_range from None  # digits beyond int()'s limit (4,300)
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: extra {name!r} must be "
            f"{'an integer' if extra.kind is int else 'a number'}, got {_shown(raw)}"
        ) from None
    # NaN compares false with every bound, so it is refused explicitly (as is infinity).
    if not math.isfinite(value) or not low <= value <= high:
        raise LeadSquaredConfigError(
            f"connection {conn_id!r}: extra {name!r} is {value!r}; it must be between {_bound(low)} and {_bound(high)}"
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
    URL (``http://127.0.0.1:8765`` for the sandbox); an empty host is the global host
    (:data:`GLOBAL_HOST`), from which the client finds the account's region host. Plain http
    is only accepted for loopback hosts, so keys never cross a network unencrypted. A port of
    0 (what Airflow's form sends for its hidden port field) is no port.
    """
    raw = (host or "").strip() or GLOBAL_HOST
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
            "expected e.g. api-in21.leadsquared.com or http://127.0.0.1:8765"
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
    for extra in EXTRAS:
        raw = _extra_value(extras, extra.name)
        if raw is None or raw == "":
            # A text default is written in the user's terms ("file") and parsed like input.
            values[extra.name] = TEXT_PARSERS[extra.name](extra.default) if extra.kind is str else extra.default
            continue
        try:
            values[extra.name] = _parse_extra(conn_id, extra, raw)
        except LeadSquaredConfigError as error:
            problems.append(str(error))
    if problems:
        # Every bad extra at once: fixing them one failed run at a time wastes runs.
        raise LeadSquaredConfigError("; ".join(problems))
    return LeadSquaredSettings(
        conn_id=conn_id, base_url=base_url, access_key=access_key, secret_key=secret_key, **values
    )
