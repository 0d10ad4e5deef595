"""Loopback servers placed in front of the sandbox: a TLS terminator, a proxy that fails chosen leads
and one that rewrites answers.

Each forwards to the real sandbox; they only add what the sandbox cannot do itself (serve
https, fail one lead on every call, send an answer's numbers as strings, answer malformed
bodies), so the hook under test talks to the real API behind them.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from typing_extensions import Self


def make_certificate(folder: Path, *, dns_names: list[str], ip_addresses: list[str], name: str) -> tuple[Path, Path]:
    """Write a self-signed certificate and its key (PEM); return ``(cert, key)`` paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    alternative = [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class TlsStats:
    handshakes: int = 0
    failed_handshakes: int = 0
    errors: list[str] = field(default_factory=list)


@contextmanager
def tls_terminator(target: tuple[str, int], cert: Path, key: Path) -> Iterator[tuple[str, TlsStats]]:
    """Serve https on loopback, piping each decrypted connection to ``target`` (the sandbox).

    Yields ``(base URL, stats)``; a client that refuses the certificate shows up as a failed
    handshake and never reaches the target.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stats = TlsStats()
    stop = threading.Event()

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def serve(raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            secure = context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as error:
            stats.failed_handshakes += 1
            stats.errors.append(str(error))
            raw.close()
            return
        stats.handshakes += 1
        secure.settimeout(None)
        upstream = socket.create_connection(target)
        threading.Thread(target=pipe, args=(upstream, secure), daemon=True).start()
        pipe(secure, upstream)

    def accept() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(raw,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", stats
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


_SERVER_ERROR_BODY = b'{"Message":"An error has occurred."}'


class _LoopbackServer:
    """A threaded HTTP server on a free loopback port, served for a ``with`` block."""

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _ForwardingProxy(_LoopbackServer):
    """An HTTP proxy to the sandbox: each request is answered by :meth:`intercept`, or forwarded
    unchanged (headers, keys included) and its answer passed through :meth:`transform`."""

    def __init__(self, target_url: str) -> None:
        self.target = urlsplit(target_url)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                answer = proxy.intercept(path, query)
                if answer is None:
                    upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=30)
                    try:
                        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                        upstream.request(self.command, self.path, body=body or None, headers=headers)
                        reply = upstream.getresponse()
                        status, payload = proxy.transform(path, reply.status, reply.read())
                        answer = (status, payload, reply.getheader("Content-Type") or "application/json")
                    except OSError:
                        self.close_connection = True
                        return
                    finally:
                        upstream.close()
                status, payload, content_type = answer
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._serve(Handler)

    def intercept(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str] | None:
        """An answer given without asking the sandbox (status, body, content type), or None."""
        return None

    def transform(self, path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        """What the proxy answers for the sandbox's answer to a call on ``path``."""
        return status, payload


class FailingLeadsProxy(_ForwardingProxy):
    """An HTTP proxy to the sandbox that answers HTTP 500 to every call for the leads in ``failing``.

    Everything else (other leads, other endpoints) is forwarded unchanged, headers included,
    unless ``rewrite`` is given: then every successful JSON answer passes through
    ``rewrite(path, answer)`` first. ``failed`` counts the 500s sent per lead; ``forwarded``
    the calls passed on.
    """

    def __init__(
        self,
        target_url: str,
        failing: set[str] | None = None,
        rewrite: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self.failing = {lead.lower() for lead in failing or set()}
        self.rewrite = rewrite
        self.failed: Counter[str] = Counter()
        self.forwarded = 0
        super().__init__(target_url)

    def intercept(self, path: str, query: dict[str, str]) -> tuple[int, bytes, str] | None:
        lead = (query.get("leadid") or "").lower()
        if lead not in self.failing:
            return None
        with self._lock:
            self.failed[lead] += 1
        return 500, _SERVER_ERROR_BODY, "application/json; charset=utf-8"

    def transform(self, path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        if self.rewrite is not None and status == 200:
            payload = json.dumps(self.rewrite(path, json.loads(payload))).encode()
        with self._lock:
            self.forwarded += 1
        return status, payload


#: ``rewrite(path, status, body) -> (status, body)``: what the proxy answers instead of the sandbox.
Rewrite = Callable[[str, int, bytes], tuple[int, bytes]]


class RewritingProxy(_ForwardingProxy):
    """An HTTP proxy to the sandbox that passes each answer through ``rewrite`` before answering.

    For answers the sandbox never gives: a malformed body, a catalogue that lists a code the
    settings endpoint does not know. Requests (keys in headers included) reach the sandbox
    unchanged, so its authentication, limits and counters apply; ``paths`` counts the calls
    forwarded per path.
    """

    def __init__(self, target_url: str, rewrite: Rewrite) -> None:
        self.rewrite = rewrite
        self.paths: Counter[str] = Counter()
        super().__init__(target_url)

    def transform(self, path: str, status: int, payload: bytes) -> tuple[int, bytes]:
        with self._lock:
            self.paths[path] += 1
        return self.rewrite(path, status, payload)
