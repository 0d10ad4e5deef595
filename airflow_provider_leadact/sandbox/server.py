"""The sandbox HTTP server: authentication, rate limit, faults, counters and control.

Each API call goes through the same steps, in this order: it is counted, its keys are
checked (401), the per-key sliding-window rate limit is applied (429 or 200 + MX body),
a queued or random fault is picked, the configured latency is slept, and then the answer
(or the fault) is sent. Control endpoints under ``/_sandbox/`` skip all of that.
"""

from __future__ import annotations

import copy
import hmac
import json
import random
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_leadact.sandbox import api
from airflow_provider_leadact.sandbox.config import (
    BIND_FIELDS,
    DATA_FIELDS,
    FAULT_KINDS,
    FAULT_PROBABILITIES,
    SandboxConfig,
)
from airflow_provider_leadact.sandbox.data import Dataset, generate_dataset
from airflow_provider_leadact.sandbox.ratelimit import SlidingWindows

__all__ = ["Sandbox", "SandboxConfig"]

_JSON = "application/json; charset=utf-8"
_MAX_BODY = 1 << 20
# Keep-alive connections idle this long are closed, so abandoned clients do not pin threads.
_IDLE_TIMEOUT = 120.0
_SERVER_ERROR_BODY = b'{"Message":"An error has occurred."}'
_UNAVAILABLE_BODY = (
    b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>The server is temporarily unable to service "
    b"your request.</p></body></html>"
)
_UNKNOWN_ENDPOINT = "<unknown>"


class Sandbox:
    """A local LeadSquared API serving a generated data set.

    ``Sandbox(config)`` or ``Sandbox(**overrides)`` (or both: the overrides replace fields
    of ``config``). The data set is generated at construction, so :meth:`truth` works
    before :meth:`start`. Use as a context manager to serve for a ``with`` block.

    :param config: settings; defaults to ``SandboxConfig()``.
    :param overrides: fields of :class:`SandboxConfig` to change.
    :raises ValueError: for an invalid setting.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        base = config if config is not None else SandboxConfig()
        self._config = base.replace(**overrides) if overrides else base
        self._dataset = _dataset_for(self._config)
        self._lock = threading.Lock()
        self._configure_lock = threading.Lock()
        self._limiter = SlidingWindows()
        self._peaks = SlidingWindows()
        self._queued_faults: deque[str] = deque()
        self._fault_rng = random.Random(self._config.fault_seed)
        self._stats = _empty_stats()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start serving in a daemon thread and return ``self``.

        :raises RuntimeError: if already serving.
        :raises OSError: if the address cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the sandbox is already serving at " + self.url)
        self._stopping = threading.Event()
        server = _Server((self._config.host, self._config.port), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"leadact-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, closing open connections and waking sleeping requests. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads blocked reading the next keep-alive request.
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not serving"
        return f"Sandbox({where}, leads={self._config.leads}, seed={self._config.seed})"

    # -- where and how -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port the server listens on.

        :raises RuntimeError: if not serving.
        """
        if self._server is None:
            raise RuntimeError("the sandbox is not serving; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:54321``.

        :raises RuntimeError: if not serving.
        """
        return f"http://{self._config.host}:{self.port}"

    @property
    def config(self) -> SandboxConfig:
        """The current settings (immutable; change them with :meth:`configure`)."""
        return self._config

    @property
    def dataset(self) -> Dataset:
        """The data set being served."""
        return self._dataset

    def connection_json(self) -> str:
        """Return an Airflow connection in JSON, for ``AIRFLOW_CONN_LEADSQUARED_DEFAULT``.

        :raises RuntimeError: if not serving.
        """
        return json.dumps(
            {
                "conn_type": "leadsquared",
                "host": self.url,
                "login": self._config.access_key,
                "password": self._config.secret_key,
            }
        )

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change settings at run time (paging readings, limits, faults, latency, keys...).

        Changing the value of ``seed``, ``leads``, ``start`` or ``days`` regenerates the data;
        changing ``fault_seed`` restarts the random fault sequence.

        :param changes: fields of :class:`SandboxConfig` and their new values.
        :return: the new settings.
        :raises ValueError: for an unknown field, an invalid value, or ``host``/``port``
            while serving.
        """
        if self._server is not None and BIND_FIELDS & changes.keys():
            raise ValueError("host and port cannot change while the sandbox is serving")
        # One change at a time; calls keep being served meanwhile (they use self._lock).
        with self._configure_lock:
            previous = self._config
            config = previous.replace(**changes)
            data_changed = any(getattr(config, name) != getattr(previous, name) for name in DATA_FIELDS)
            # Generated outside self._lock: it takes a fraction of a second.
            dataset = _dataset_for(config) if data_changed else None
            with self._lock:
                self._config = config
                if dataset is not None:
                    self._dataset = dataset
                if "fault_seed" in changes:
                    self._fault_rng = random.Random(config.fault_seed)
            return config

    def inject_faults(self, kind: str, count: int = 1) -> int:
        """Make the next ``count`` API calls that pass the rate limit fail with ``kind``.

        :param kind: one of ``"500"``, ``"503"``, ``"drop"``, ``"slow"``, ``"truncated"``,
            ``"rate_limit"``.
        :param count: how many calls; queued after any faults already queued.
        :return: the number of faults now queued.
        :raises ValueError: for an unknown kind or a negative count.
        """
        kind = str(kind)
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {', '.join(FAULT_KINDS)}; got {kind!r}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"fault count must be a non-negative integer, got {count!r}")
        with self._lock:
            self._queued_faults.extend([kind] * count)
            return len(self._queued_faults)

    def clear_faults(self) -> None:
        """Drop every queued fault (random faults keep their configured probabilities)."""
        with self._lock:
            self._queued_faults.clear()

    def reset_rate_limit(self) -> None:
        """Forget past calls, so the full rate-limit budget is available again."""
        with self._lock:
            self._limiter.clear()

    # -- counters ----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Return a copy of the counters.

        Keys: ``calls`` (API calls received), ``accepted`` (let through the rate limiter),
        ``rate_limited`` (rate-limit answers sent, injected ones included),
        ``max_in_window`` (most accepted calls of one access key whose arrivals fell
        within any ``rate_limit_period``-long window), ``query_auth_calls`` (calls with
        keys in the query string), ``unauthorized``, ``faults`` (kind -> count),
        ``by_endpoint`` (path -> calls), ``by_status`` (HTTP status -> answers; ``"drop"``
        for closed connections), ``first_call_at``/``last_call_at`` (``time.time()``),
        ``rate_limited_after`` (seconds from the first call to each answer of the limiter,
        the first 10,000: tells a start-up burst from answers in steady state).

        An injected ``rate_limit`` fault counts in both ``accepted`` (it passed the limiter
        and used budget, as any call that reached the service would) and ``rate_limited``.
        """
        with self._lock:
            return copy.deepcopy(self._stats)

    def reset_stats(self) -> None:
        """Zero the counters. The rate limiter keeps its memory of recent calls."""
        with self._lock:
            self._stats = _empty_stats()
            self._peaks.clear()

    # -- ground truth ------------------------------------------------------------------

    def lead_ids(self) -> list[str]:
        """Return every lead id, in data set order."""
        return self._dataset.lead_ids()

    def truth(
        self, lead_id: str, activity_event: int | None = None, get_file_url: bool = False
    ) -> list[dict[str, Any]]:
        """Return (a deep copy of) every activity the API holds for a lead, newest first.

        :param lead_id: the lead's GUID; an unknown lead gives ``[]``.
        :param activity_event: event code to keep, or ``None`` for all.
        :param get_file_url: show file names as URLs, as ``getFileURL=true`` does.
        """
        return api.truth(self._dataset, lead_id, activity_event, get_file_url)

    def all_truth(self, activity_event: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """Return :meth:`truth` for every lead, keyed by lead id in data set order.

        :param activity_event: event code to keep, or ``None`` for all.
        """
        dataset = self._dataset
        return {lead_id: api.truth(dataset, lead_id, activity_event) for lead_id in dataset.lead_ids()}

    def write_truth(self, path: str | Path) -> None:
        """Write :meth:`all_truth` as JSON (UTF-8) to ``path``.

        :param path: the file to write.
        """
        text = json.dumps(self.all_truth(), ensure_ascii=False)
        Path(path).write_text(text, encoding="utf-8")

    def leads_modified(self, from_date: str, to_date: str) -> list[str]:
        """Return the ids Leads.RecentlyModified would return for these inclusive bounds.

        Sorted as the endpoint's default: ModifiedOn ascending, ties by ProspectID.

        :param from_date: ``YYYY-MM-DD HH:MM:SS`` lower bound, included.
        :param to_date: ``YYYY-MM-DD HH:MM:SS`` upper bound, included.
        :raises ValueError: for a date not in that format.
        """
        try:
            lower = api.parse_time(from_date, "from_date")
            upper = api.parse_time(to_date, "to_date")
        except api.ApiError as error:
            raise ValueError(error.message) from None
        return [lead.lead_id for lead in api.leads_modified(self._dataset, lower, upper)]

    # -- used by the request handler ---------------------------------------------------

    def _count_call(self, endpoint: str, query_auth: bool) -> None:
        with self._lock:
            stats = self._stats
            stats["calls"] += 1
            stats["by_endpoint"][endpoint] = stats["by_endpoint"].get(endpoint, 0) + 1
            if query_auth:
                stats["query_auth_calls"] += 1
            now = time.time()
            if stats["first_call_at"] is None:
                stats["first_call_at"] = now
            stats["last_call_at"] = now

    def _count(self, name: str) -> None:
        with self._lock:
            self._stats[name] += 1

    def _count_status(self, status: int | str) -> None:
        with self._lock:
            by_status = self._stats["by_status"]
            by_status[str(status)] = by_status.get(str(status), 0) + 1

    def _admit(self, key: str) -> bool:
        """Apply the rate limit to one call of ``key``; record it if accepted."""
        with self._lock:
            config = self._config
            # Read under the lock so arrivals enter each window in time order.
            now = time.monotonic()
            period = config.rate_limit_period
            limit = config.rate_limit_calls
            if limit and self._limiter.count(key, now, period) >= limit:
                self._stats["rate_limited"] += 1
                after = self._stats["rate_limited_after"]
                if len(after) < 10_000:
                    after.append(round(time.time() - (self._stats["first_call_at"] or time.time()), 3))
                return False
            self._limiter.add(key, now)
            in_window = self._peaks.count(key, now, period) + 1
            self._peaks.add(key, now)
            self._stats["accepted"] += 1
            self._stats["max_in_window"] = max(self._stats["max_in_window"], in_window)
            return True

    def _next_fault(self) -> str | None:
        with self._lock:
            if self._queued_faults:
                kind: str | None = self._queued_faults.popleft()
            else:
                kind = self._draw_fault(self._config)
            if kind is not None:
                self._stats["faults"][kind] += 1
                if kind == "rate_limit":
                    self._stats["rate_limited"] += 1
            return kind

    def _draw_fault(self, config: SandboxConfig) -> str | None:
        chances = [(kind, getattr(config, name)) for kind, name in FAULT_PROBABILITIES.items()]
        if not any(chance for _, chance in chances):
            return None
        roll = self._fault_rng.random()
        for kind, chance in chances:
            if roll < chance:
                return kind
            roll -= chance
        return None

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the sandbox stops first; return whether it is still serving."""
        if seconds > 0:
            return not self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    # A thread per connection; daemon threads so a hung client never blocks exit.
    daemon_threads = True
    block_on_close = False
    # The default listen backlog of 5 drops SYNs when a benchmark opens many connections at
    # once, and each dropped SYN costs the client a one-second retransmission.
    request_queue_size = 128
    sandbox: Sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-answer (timeouts in fault tests) is not a server error.
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "leadact-sandbox"
    sys_version = ""
    timeout = _IDLE_TIMEOUT
    # Buffer writes so headers and a small body leave in one segment; with separate writes,
    # Nagle's algorithm and delayed ACKs add about 40 ms to every keep-alive answer.
    wbufsize = 1 << 16
    server: _Server

    # -- plumbing ----------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.sandbox._track(self.connection, add=True)

    def version_string(self) -> str:
        return self.server_version

    def finish(self) -> None:
        self.server.sandbox._track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log; errors still go to :meth:`log_error`."""

    def log_error(self, format: str, *args: Any) -> None:
        """Report protocol errors on stderr, except idle keep-alive timeouts."""
        message = format % args
        if message.startswith("Request timed out"):
            return
        sys.stderr.write(f"leadact-sandbox: {self.address_string()}: {message}\n")

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
            if body is None:
                return
            parts = urlsplit(self.path)
            query = {name.lower(): values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
            path = parts.path.rstrip("/") or "/"
            if path == "/_sandbox" or path.startswith("/_sandbox/"):
                self._control(path, query, body)
            else:
                self._api(path, query, body)
        except Exception as error:  # a sandbox bug must answer, and show, not hang the client
            self.log_error("internal error: %r", error)
            traceback.print_exc(file=sys.stderr)
            failure = api.mx_error("MXSandboxInternalException", f"sandbox bug: {error!r}")
            self._send_json(500, failure, close=True)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            message = "chunked request bodies are not supported; send Content-Length"
            self._send_json(411, api.mx_error("MXInvalidInputException", message), close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > _MAX_BODY:
            message = f"Content-Length must be between 0 and {_MAX_BODY}"
            self._send_json(400, api.mx_error("MXInvalidInputException", message), close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: bytes, content_type: str = _JSON, close: bool = False) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _send_json(self, status: int, body: Any, close: bool = False) -> None:
        self._send(status, _encode(body), close=close)

    def _drop(self) -> None:
        # Close without a byte of answer: the client sees "connection closed/reset".
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- the API -----------------------------------------------------------------------

    def _api(self, path: str, query: Mapping[str, str], body: bytes) -> None:
        sandbox = self.server.sandbox
        endpoint = _match_endpoint(path)
        via_query = "accesskey" in query or "secretkey" in query
        sandbox._count_call(endpoint or _UNKNOWN_ENDPOINT, via_query)
        if endpoint is None:
            message = f"API not found: {self.command} {path}"
            self._answer_error(api.ApiError(404, "MXAPINotFoundException", message))
            return
        if self.command != api.ENDPOINTS[endpoint]:
            message = f"{endpoint} accepts {api.ENDPOINTS[endpoint]}, not {self.command}"
            self._answer_error(api.ApiError(405, "MXMethodNotAllowedException", message))
            return

        config = sandbox.config
        access = self.headers.get("x-LSQ-AccessKey") or query.get("accesskey")
        secret = self.headers.get("x-LSQ-SecretKey") or query.get("secretkey")
        if not access or not secret:
            sandbox._count("unauthorized")
            message = (
                "Access key and secret key are required: send the headers x-LSQ-AccessKey "
                "and x-LSQ-SecretKey (or the query parameters accessKey and secretKey)"
            )
            self._answer_error(api.ApiError(401, "MXUnAuthorizedException", message))
            return
        if not (_same(access, config.access_key) and _same(secret, config.secret_key)):
            sandbox._count("unauthorized")
            message = "Invalid access key or secret key, or wrong region host for this account"
            self._answer_error(api.ApiError(401, "MXUnAuthorizedException", message))
            return

        if not sandbox._admit(access):
            self._answer_rate_limited(sandbox.config)
            return
        fault = sandbox._next_fault()
        if not sandbox._sleep(sandbox.config.latency):
            self._drop()
            return

        if fault == "drop":
            sandbox._count_status("drop")
            self._drop()
            return
        if fault == "500":
            sandbox._count_status(500)
            self._send(500, _SERVER_ERROR_BODY)
            return
        if fault == "503":
            sandbox._count_status(503)
            self._send(503, _UNAVAILABLE_BODY, content_type="text/html; charset=utf-8")
            return
        if fault == "rate_limit":
            self._answer_rate_limited(sandbox.config)
            return
        if fault == "slow" and not sandbox._sleep(sandbox.config.slow_seconds):
            self._drop()
            return

        # The settings and data as they are now, after any sleep: a run-time change applies
        # to every answer not yet computed.
        try:
            status, payload = 200, self._answer(endpoint, query, body)
        except api.ApiError as error:
            status, payload = error.status, error.body()
        encoded = _encode(payload)
        if fault == "truncated":
            encoded = encoded[: len(encoded) // 2]
        sandbox._count_status(status)
        self._send(status, encoded)

    def _answer(self, endpoint: str, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
        sandbox = self.server.sandbox
        if endpoint == api.ACTIVITIES_PATH:
            return api.retrieve_activities(sandbox.dataset, sandbox.config, query, body)
        if endpoint == api.LEADS_PATH:
            return api.recently_modified(sandbox.dataset, body)
        return api.user_by_access_key(sandbox.url)

    def _answer_error(self, error: api.ApiError) -> None:
        self.server.sandbox._count_status(error.status)
        self._send_json(error.status, error.body())

    def _answer_rate_limited(self, config: SandboxConfig) -> None:
        message = f"API calls exceeded the limit of {config.rate_limit_calls} in {config.rate_limit_period:g} second(s)"
        status = 429 if config.rate_limit_style == "429" else 200
        self.server.sandbox._count_status(status)
        self._send_json(status, api.mx_error("MXAPIRateLimitExceededException", message))

    # -- control endpoints -------------------------------------------------------------

    def _control(self, path: str, query: Mapping[str, str], raw: bytes) -> None:
        sandbox = self.server.sandbox
        route = (self.command, path)
        try:
            if route == ("GET", "/_sandbox/stats"):
                self._send_json(200, sandbox.stats())
            elif route == ("POST", "/_sandbox/stats/reset"):
                sandbox.reset_stats()
                self._send_json(200, sandbox.stats())
            elif route == ("GET", "/_sandbox/truth"):
                self._send_json(200, self._truth(query))
            elif route == ("GET", "/_sandbox/leads"):
                leads = [
                    {
                        "lead_id": lead.lead_id,
                        "modified_on": lead.modified_on,
                        "activities": len(lead.activities),
                    }
                    for lead in sandbox.dataset.leads
                ]
                self._send_json(200, leads)
            elif route == ("GET", "/_sandbox/config"):
                self._send_json(200, sandbox.config.public_dict())
            elif route == ("POST", "/_sandbox/config"):
                changes = _control_body(raw)
                self._send_json(200, sandbox.configure(**changes).public_dict())
            elif route == ("POST", "/_sandbox/faults"):
                request = _control_body(raw)
                if "kind" not in request:
                    raise ValueError('send {"kind": "<fault kind>", "count": <n>}')
                queued = sandbox.inject_faults(str(request["kind"]), request.get("count", 1))
                self._send_json(200, {"queued": queued})
            elif route == ("POST", "/_sandbox/faults/clear"):
                sandbox.clear_faults()
                self._send_json(200, {"queued": 0})
            else:
                self._send_json(404, {"error": f"no control endpoint {self.command} {path}"})
        except (ValueError, TypeError) as error:
            self._send_json(400, {"error": str(error)})

    def _truth(self, query: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
        sandbox = self.server.sandbox
        event_text = query.get("activityevent")
        event = int(event_text) if event_text else None
        file_urls = query.get("getfileurl", "").lower() == "true"
        lead_id = query.get("leadid")
        ids = [lead_id] if lead_id else sandbox.lead_ids()
        return {item: sandbox.truth(item, event, file_urls) for item in ids}


def _control_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _match_endpoint(path: str) -> str | None:
    # WCF matches paths case-insensitively; so does the sandbox.
    lowered = path.lower()
    for endpoint in api.ENDPOINTS:
        if endpoint.lower() == lowered:
            return endpoint
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _dataset_for(config: SandboxConfig) -> Dataset:
    return generate_dataset(config.seed, config.leads, config.start, config.days)


def _empty_stats() -> dict[str, Any]:
    return {
        "calls": 0,
        "accepted": 0,
        "rate_limited": 0,
        "max_in_window": 0,
        "query_auth_calls": 0,
        "unauthorized": 0,
        "faults": dict.fromkeys(FAULT_KINDS, 0),
        "by_endpoint": {},
        "by_status": {},
        "first_call_at": None,
        "last_call_at": None,
        "rate_limited_after": [],
    }
