"""The sandbox HTTP server: a :class:`SandboxState` served over HTTP on loopback.

Each API call goes through the same steps, in this order: it is counted, its route is found
(404, 405), its keys are checked (401), its ``Host`` header is checked against the account's
region host (401), the daily call cap and then the per-key sliding-window rate limit are
applied (429 or 200 + MX body), a queued or random fault is picked, the configured latency is
slept, and then the answer (or the fault) is sent. Routes and faults are tables in
:mod:`~airflow_provider_leadact.sandbox.routes`. Control endpoints under ``/_sandbox/`` skip
all of that.
"""

from __future__ import annotations

import hmac
import json
import socket
import sys
import threading
import traceback
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from airflow_provider_leadact.sandbox import api
from airflow_provider_leadact.sandbox.config import BIND_FIELDS, SandboxConfig
from airflow_provider_leadact.sandbox.routes import (
    API_ROUTES,
    CONTROL_ROUTES,
    FAULTS,
    NO_FAULT,
    ApiRequest,
    match_api_path,
)
from airflow_provider_leadact.sandbox.state import ACCEPTED, DAILY_CAPPED, SandboxState

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


class Sandbox(SandboxState):
    """A local LeadSquared API serving a generated data set.

    ``Sandbox(config)`` or ``Sandbox(**overrides)`` (or both: the overrides replace fields
    of ``config``). The data set is generated at construction, so :meth:`truth` works
    before :meth:`start`. Use as a context manager to serve for a ``with`` block. Settings,
    data, counters, faults and ground truth are those of :class:`SandboxState`.

    :param config: settings; defaults to ``SandboxConfig()``.
    :param overrides: fields of :class:`SandboxConfig` to change.
    :raises ValueError: for an invalid setting.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any) -> None:
        super().__init__(config, **overrides)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Start serving in a daemon thread and return ``self``.

        :raises RuntimeError: if already serving.
        :raises OSError: if the address cannot be bound.
        """
        if self._server is not None:
            raise RuntimeError("the sandbox is already serving at " + self.url)
        self._stopping = threading.Event()
        server = _Server((self.config.host, self.config.port), _Handler)
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
        with self._connections_lock:
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
        return f"Sandbox({where}, leads={self.config.leads}, seed={self.config.seed})"

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
        return f"http://{self.config.host}:{self.port}"

    @property
    def account_url(self) -> str:
        """Base URL on the account's region host: ``http://<account_host>:<port>``.

        The same as :attr:`url` when ``account_host`` is not set.

        :raises RuntimeError: if not serving.
        """
        host = self.config.account_host
        return self.url if host is None else f"http://{host}:{self.port}"

    def connection_json(self) -> str:
        """Return an Airflow connection in JSON, for ``AIRFLOW_CONN_LEADSQUARED_DEFAULT``.

        Its host is :attr:`account_url`, the host that answers API calls.

        :raises RuntimeError: if not serving.
        """
        return json.dumps(
            {
                "conn_type": "leadsquared",
                "host": self.account_url,
                "login": self.config.access_key,
                "password": self.config.secret_key,
            }
        )

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change settings at run time; see :meth:`SandboxState.configure`.

        :param changes: fields of :class:`SandboxConfig` and their new values.
        :return: the new settings.
        :raises ValueError: for an unknown field, an invalid value, or ``host``/``port``
            while serving.
        """
        if self._server is not None and BIND_FIELDS & changes.keys():
            raise ValueError("host and port cannot change while the sandbox is serving")
        return super().configure(**changes)

    # -- used by the request handler ---------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Sleep unless the sandbox stops first; return whether it is still serving."""
        if seconds > 0:
            return not self._stopping.wait(seconds)
        return not self._stopping.is_set()

    def _track(self, connection: socket.socket, add: bool) -> None:
        with self._connections_lock:
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
        endpoint = match_api_path(path)
        via_query = "accesskey" in query or "secretkey" in query
        sandbox.count_call(endpoint or _UNKNOWN_ENDPOINT, via_query)
        if endpoint is None:
            self._answer_error(api.ApiError(404, "MXAPINotFoundException", f"API not found: {self.command} {path}"))
            return
        route = API_ROUTES[endpoint]
        if self.command != route.method:
            message = f"{endpoint} accepts {route.method}, not {self.command}"
            self._answer_error(api.ApiError(405, "MXMethodNotAllowedException", message))
            return

        refusal = self._check_keys(query) or (None if route.any_host else self._check_host())
        if refusal is not None:
            self._answer_error(refusal)
            return
        access = self.headers.get("x-LSQ-AccessKey") or query.get("accesskey") or ""
        admission = sandbox.admit(access)
        if admission != ACCEPTED:
            self._answer_limited(sandbox.config, daily=admission == DAILY_CAPPED)
            return

        fault = FAULTS[kind] if (kind := sandbox.next_fault()) else NO_FAULT
        if not sandbox._sleep(sandbox.config.latency):
            self._drop()
            return
        if fault.replaces is not None:
            self._answer_fault(fault.replaces)
            return
        if fault.delays and not sandbox._sleep(sandbox.config.slow_seconds):
            self._drop()
            return

        # The settings and data as they are now, after any sleep: a run-time change applies
        # to every answer not yet computed.
        request = ApiRequest(query=query, body=body, api_url=sandbox.account_url)
        try:
            status, payload = 200, route.answer(sandbox, request)
        except api.ApiError as error:
            status, payload = error.status, error.body()
        encoded = _encode(payload)
        if fault.truncates:
            encoded = encoded[: len(encoded) // 2]
        sandbox.count_status(status)
        self._send(status, encoded)

    def _check_keys(self, query: Mapping[str, str]) -> api.ApiError | None:
        sandbox = self.server.sandbox
        config = sandbox.config
        access = self.headers.get("x-LSQ-AccessKey") or query.get("accesskey")
        secret = self.headers.get("x-LSQ-SecretKey") or query.get("secretkey")
        if not access or not secret:
            sandbox.count("unauthorized")
            message = (
                "Access key and secret key are required: send the headers x-LSQ-AccessKey "
                "and x-LSQ-SecretKey (or the query parameters accessKey and secretKey)"
            )
            return api.ApiError(401, "MXUnAuthorizedException", message)
        if not (_same(access, config.access_key) and _same(secret, config.secret_key)):
            sandbox.count("unauthorized")
            message = "Invalid access key or secret key, or wrong region host for this account"
            return api.ApiError(401, "MXUnAuthorizedException", message)
        return None

    def _check_host(self) -> api.ApiError | None:
        sandbox = self.server.sandbox
        expected = sandbox.config.account_host
        if expected is None:
            return None
        named = _host_name(self.headers.get("Host", ""))
        if named == expected.lower():
            return None
        sandbox.count("unauthorized")
        sandbox.count("wrong_host")
        # The real service says no more than this for another region's host.
        message = "Invalid access key or secret key, or wrong region host for this account"
        return api.ApiError(401, "MXUnAuthorizedException", message)

    def _answer_fault(self, kind: str) -> None:
        sandbox = self.server.sandbox
        if kind == "drop":
            sandbox.count_status("drop")
            self._drop()
        elif kind == "500":
            sandbox.count_status(500)
            self._send(500, _SERVER_ERROR_BODY)
        elif kind == "503":
            sandbox.count_status(503)
            self._send(503, _UNAVAILABLE_BODY, content_type="text/html; charset=utf-8")
        else:
            self._answer_limited(sandbox.config, daily=False)

    def _answer_error(self, error: api.ApiError) -> None:
        self.server.sandbox.count_status(error.status)
        self._send_json(error.status, error.body())

    def _answer_limited(self, config: SandboxConfig, daily: bool) -> None:
        if daily:
            exception = "MXAPIDailyLimitExceededException"
            message = f"API calls exceeded the daily limit of {config.daily_call_cap} calls"
        else:
            exception = "MXAPIRateLimitExceededException"
            message = (
                f"API calls exceeded the limit of {config.rate_limit_calls} in {config.rate_limit_period:g} second(s)"
            )
        status = 429 if config.rate_limit_style == "429" else 200
        self.server.sandbox.count_status(status)
        self._send_json(status, api.mx_error(exception, message))

    # -- control endpoints -------------------------------------------------------------

    def _control(self, path: str, query: Mapping[str, str], raw: bytes) -> None:
        handler = CONTROL_ROUTES.get((self.command, path))
        if handler is None:
            self._send_json(404, {"error": f"no control endpoint {self.command} {path}"})
            return
        try:
            self._send_json(200, handler(self.server.sandbox, query, _control_body(raw)))
        except (ValueError, TypeError) as error:
            self._send_json(400, {"error": str(error)})


def _control_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _host_name(header: str) -> str:
    """Return the host named by a ``Host`` header, without port, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal, [::1]:8080
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")
