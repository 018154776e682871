"""A loopback TCP proxy that delays each direction by half the round-trip time it is given.

These kernels have no ``tc netem``; this stands in for a network. It runs as its own process
(so it does not compete with the measured client for the GIL), listens on 127.0.0.1 only and
relays to the server's TCP address or Unix socket::

    python proxy.py --rtt-ms 2 --to /tmp/pgdata/.s.PGSQL.5432    # prints the port it listens on
"""

import argparse
import asyncio
import contextlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DEFAULT_PORT = 5432


def server_address(url: str) -> str:
    """Where ``url``'s server listens: ``host:port``, or the path of its Unix socket."""
    info = conninfo_to_dict(url)
    host = str(info.get("host") or "/tmp").split(",")[0]  # noqa: S108 - libpq's default
    port = int(str(info.get("port") or DEFAULT_PORT).split(",")[0])
    if host.startswith("/"):
        return f"{host}/.s.PGSQL.{port}"
    return f"{host}:{port}"


def through(url: str, port: int) -> str:
    """``url`` reaching its server through the proxy on ``port``."""
    return make_conninfo(url, host="127.0.0.1", port=str(port))


@contextlib.contextmanager
def delay_proxy(url: str, rtt_ms: float) -> Iterator[int]:
    """The proxy in a child process for the block; the port it listens on."""
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(Path(__file__)), "--rtt-ms", str(rtt_ms),
         "--to", server_address(url)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        yield int(line)
    finally:
        child.terminate()
        child.wait(timeout=10)


def added_latency_ms(direct_url: str, proxied_url: str, pings: int = 50) -> float:
    """What the proxy adds to one round trip (``select 1``, median), in milliseconds."""

    def ping(url: str) -> float:
        with psycopg.connect(url, autocommit=True) as conn:
            times = []
            for _ in range(pings):
                started = time.perf_counter()
                conn.execute("select 1")
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    return (ping(proxied_url) - ping(direct_url)) * 1000


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if data == b"":
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(deliver())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    finally:
        queue.put_nowait((0.0, b""))
        with contextlib.suppress(Exception):
            await sender
            writer.close()


async def _serve(target: str, rtt_ms: float) -> None:
    delay = rtt_ms / 2000

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if target.startswith("/"):
            server_r, server_w = await asyncio.open_unix_connection(target)
        else:
            host, _, port = target.rpartition(":")
            server_r, server_w = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            _pump(client_r, server_w, delay), _pump(server_r, client_w, delay),
            return_exceptions=True,
        )

    server = await asyncio.start_server(relay, "127.0.0.1", 0, family=socket.AF_INET)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--to", required=True, help="host:port or a Unix socket's path")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.to, args.rtt_ms))


if __name__ == "__main__":
    main()
