"""The servers the benchmark runs against: the sandbox as a separate process, and Redis.

The benchmark stands apart from the test suite (it imports nothing from ``tests/``): it starts
its own throwaway servers on free loopback ports.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
KEYS = {"x-LSQ-AccessKey": "sandbox-access-key-0001", "x-LSQ-SecretKey": "sandbox-secret-key-0001"}


@contextmanager
def sandbox(*args: str):
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_leadact.sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.strip().rsplit(" ", 1)[-1]
        if not url.startswith("http"):
            raise RuntimeError(f"sandbox did not start: {line!r}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def control(url: str, path: str, method: str = "GET"):
    response = requests.request(method, url + path, timeout=30)
    response.raise_for_status()
    return response.json()


def conn_env(url: str, **extra) -> dict[str, str]:
    conn = {
        "conn_type": "leadsquared",
        "host": url,
        "login": KEYS["x-LSQ-AccessKey"],
        "password": KEYS["x-LSQ-SecretKey"],
        "extra": extra,
    }
    return {**os.environ, "AIRFLOW_CONN_LSQ_BENCH": json.dumps(conn), "PYTHONPATH": str(ROOT)}


@contextmanager
def redis_server() -> Iterator[str]:
    """Run redis-server on loopback with a temporary folder; yield its ``redis://`` URL.

    :raises FileNotFoundError: when redis-server is not installed (``apt-get install redis-server``).
    """
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed: apt-get install redis-server")
    with tempfile.TemporaryDirectory(prefix="leadact-bench-redis-") as folder:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    if redis.Redis.from_url(url).ping():
                        break
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)
