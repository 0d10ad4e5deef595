"""A TCP forwarder: ``python forward.py LISTEN_HOST:PORT=TARGET_HOST:PORT ...`` until SIGTERM.

Joins a network namespace's loopback to the host's over a veth pair, so a worker "host" reaches
the API server, Redis and the sandbox at the same ``127.0.0.1`` URLs as every other process
(the provider allows plain http only to loopback). Prints ``ready`` once every port listens.
"""

from __future__ import annotations

import asyncio
import signal
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass  # the peer went away, or the forwarder is stopping: close this side too
    finally:
        writer.close()


async def serve(routes: list[tuple[str, int, str, int]]) -> None:
    async def handler_for(host: str, port: int):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

        return handle

    servers = [
        await asyncio.start_server(await handler_for(to_host, to_port), listen_host, listen_port)
        for listen_host, listen_port, to_host, to_port in routes
    ]
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def parse(route: str) -> tuple[str, int, str, int]:
    listen, target = route.split("=")
    listen_host, listen_port = listen.rsplit(":", 1)
    to_host, to_port = target.rsplit(":", 1)
    return listen_host, int(listen_port), to_host, int(to_port)


if __name__ == "__main__":
    try:
        asyncio.run(serve([parse(arg) for arg in sys.argv[1:]]))
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
