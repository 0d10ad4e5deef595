"""Separate "hosts" for Celery workers: network namespaces joined to the host by veth pairs.

Each namespace gets a /30 of its own (the host's end ``.1``, the namespace's ``.2``), its
loopback, and no default route, so nothing it runs can reach any address but its own, its
loopback and the host's end of its pair. A forwarder inside the namespace listens on
``127.0.0.1:<port>`` for each service port and relays to the host's end of the pair, where a
forwarder on the host relays to the service on the host's loopback. So a worker sees the API
server, Redis and the sandbox at the same URLs as the scheduler, while its traffic crosses
the veth pair as it would cross a network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

FORWARD = str(Path(__file__).with_name("forward.py"))
#: The /16 the pairs' /30s come from; each namespace's /30 is picked from the test's pid.
SUBNET = "10.213"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def _wait_ready(process: subprocess.Popen, what: str) -> None:
    line = process.stdout.readline() if process.stdout else ""
    if line.strip() != "ready":
        process.kill()
        raise RuntimeError(f"{what} did not start: {line!r}")


class NamespaceHost:
    """A network namespace with a veth pair to the host and loopback forwarders for ``ports``."""

    def __init__(self, index: int, ports: Iterable[int]) -> None:
        tag = f"{os.getpid() % 10000}{index}"
        self.name = f"leadact-w{tag}"
        self.host_if, self.ns_if = f"lah{tag}", f"lan{tag}"
        block = (os.getpid() % 60) * 4 + index  # a /30 per namespace, apart from other test runs
        self.host_ip = f"{SUBNET}.{block}.1"
        self.ns_ip = f"{SUBNET}.{block}.2"
        self.ports = list(ports)
        self.processes: list[subprocess.Popen] = []
        self.created = False

    def exec_prefix(self, hostname: str) -> list[str]:
        """A command prefix running in the namespace, under its own host name (UTS namespace)."""
        return [
            "ip", "netns", "exec", self.name,
            "unshare", "--uts", "--", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh",
        ]  # fmt: skip

    def start(self) -> NamespaceHost:
        ip("netns", "add", self.name)
        self.created = True
        ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
        ip("link", "set", self.ns_if, "netns", self.name)
        ip("addr", "add", f"{self.host_ip}/30", "dev", self.host_if)
        ip("link", "set", self.host_if, "up")
        for args in (
            ("addr", "add", f"{self.ns_ip}/30", "dev", self.ns_if),
            ("link", "set", self.ns_if, "up"),
            ("link", "set", "lo", "up"),
        ):
            ip("netns", "exec", self.name, "ip", *args)
        # Host side first: the host's end of the pair -> the service on the host's loopback.
        self._forward([], [f"{self.host_ip}:{p}=127.0.0.1:{p}" for p in self.ports], "host forwarder")
        self._forward(
            ["ip", "netns", "exec", self.name],
            [f"127.0.0.1:{p}={self.host_ip}:{p}" for p in self.ports],
            f"forwarder in {self.name}",
        )
        return self

    def _forward(self, prefix: list[str], routes: list[str], what: str) -> None:
        process = subprocess.Popen(
            [*prefix, sys.executable, FORWARD, *routes],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # connections cut at shutdown are expected
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        _wait_ready(process, what)

    def spawn(self, command: list[str], env: dict[str, str], log: Path, hostname: str) -> subprocess.Popen:
        """Start ``command`` in the namespace as host ``hostname``, logging to ``log``."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                [*self.exec_prefix(hostname), *command],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        """Stop what runs in the namespace, then remove the pair and the namespace."""
        import signal

        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
        if self.created:
            # Anything left inside (it should be nothing) dies with the namespace's processes.
            left = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
            for pid in left:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
            subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
            self.created = False
