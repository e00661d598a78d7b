"""Open-loop load: requests arrive at a fixed rate, whatever the server does (stdlib + uvloop).

wrk is closed-loop: each of its connections sends the next request as soon as an answer
arrives, so a server that sheds quickly is hit again at once, and a server that slows down
is offered less load. Real clients arrive on their own schedule. This client starts one
logical request every 1/RATE seconds (each on a free keep-alive connection, or a new one);
a 503 with `Retry-After` is retried after that delay (at most `--retries` times, within
`--give-up` seconds of its arrival), as a well-behaved client or SDK does.

    python bench/load.py URL BODY.json --rate 2000 --seconds 10 [--header 'Name: value']

Prints one line, `RESULT {json}`: offered and served (2xx) per second, p50/p99/max of the
served requests from their first arrival (retries included), shed answers (503), failures
(other statuses, errors, given up), retries, and peak connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import uvloop


@dataclass
class Stats:
    """What the client saw."""

    served: list[float] = field(default_factory=list)  # seconds from arrival, 2xx
    shed: int = 0  # 503 answers seen (each retried or given up)
    retries: int = 0
    failed: int = 0  # other statuses, connection errors, given up
    given_up: int = 0
    connections: int = 0
    peak_connections: int = 0


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: send a request, await (status, retry_after)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, float]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        retry_after = 1.0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name == b"content-length":
                length = int(value)
            elif name == b"retry-after":
                retry_after = float(value)
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        if not self.waiter.done():
            self.waiter.set_result((status, retry_after))

    async def exchange(self, request: bytes) -> tuple[int, float]:
        if self.transport is None:
            raise ConnectionError("not connected")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


class Client:
    """A pool of keep-alive connections, opened as the arrivals need them."""

    def __init__(self, host: str, port: int, request: bytes, max_connections: int) -> None:
        self.host = host
        self.port = port
        self.request = request
        self.max_connections = max_connections
        self.idle: list[_Connection] = []
        self.stats = Stats()

    async def _connection(self) -> _Connection:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
            self.stats.connections -= 1
        if self.stats.connections >= self.max_connections:
            raise ConnectionError("client connection limit")
        self.stats.connections += 1
        self.stats.peak_connections = max(self.stats.peak_connections, self.stats.connections)
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port
            )
        except OSError:
            self.stats.connections -= 1
            raise
        return connection

    async def one(self, arrival: float, retries: int, give_up: float) -> None:
        """One logical request, retried after Retry-After on 503."""
        loop = asyncio.get_running_loop()
        for attempt in range(retries + 1):
            try:
                connection = await self._connection()
                status, retry_after = await connection.exchange(self.request)
            except (OSError, ConnectionError):
                self.stats.failed += 1
                return
            self.idle.append(connection)
            if 200 <= status < 300:
                self.stats.served.append(loop.time() - arrival)
                return
            if status != 503:
                self.stats.failed += 1
                return
            self.stats.shed += 1
            if attempt == retries or loop.time() + retry_after - arrival > give_up:
                break
            self.stats.retries += 1
            await asyncio.sleep(retry_after)
        self.stats.given_up += 1
        self.stats.failed += 1


async def run(  # a script's entry point, called once
    url: str,
    body: bytes,
    headers: Sequence[str],
    rate: float,
    seconds: float,
    *,
    retries: int,
    give_up: float,
    max_connections: int,
) -> dict[str, object]:
    """Offer `rate` requests/s for `seconds`, wait for their answers; the figures."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    head = [
        f"POST {parts.path or '/'} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    client = Client(host, port, "\r\n".join(head).encode() + b"\r\n\r\n" + body, max_connections)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    started = loop.time()
    offered = 0
    while True:
        now = loop.time()
        due = int((now - started) * rate)
        if now - started >= seconds:
            break
        while offered < due:
            arrival = started + offered / rate
            task = loop.create_task(client.one(arrival, retries, give_up))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            offered += 1
        await asyncio.sleep(0.001)
    window = loop.time() - started
    if tasks:  # answers to requests offered in the window count; wait for them (bounded)
        await asyncio.wait(tasks, timeout=give_up + 5)
    stats = client.stats
    served = sorted(stats.served)

    def pct(q: float) -> float:
        if not served:
            return math.nan
        return served[min(len(served) - 1, int(q * len(served)))] * 1000

    return {
        "rate": rate,
        "seconds": round(window, 3),
        "offered": offered,
        "served": len(served),
        "goodput": round(len(served) / window, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
        "max_ms": round(served[-1] * 1000, 2) if served else math.nan,
        "shed_503": stats.shed,
        "retries": stats.retries,
        "failed": stats.failed,
        "given_up": stats.given_up,
        "unfinished": len(tasks),
        "peak_connections": stats.peak_connections,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("body", help="file with the JSON request body")
    parser.add_argument("--rate", type=float, required=True, help="arrivals per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--give-up", type=float, default=10, help="seconds after arrival")
    parser.add_argument("--max-connections", type=int, default=4096)
    parser.add_argument("--label", default="target")
    args = parser.parse_args(argv)
    body = Path(args.body).read_bytes()
    result = uvloop.run(
        run(
            args.url,
            body,
            args.header,
            args.rate,
            args.seconds,
            retries=args.retries,
            give_up=args.give_up,
            max_connections=args.max_connections,
        )
    )
    print("RESULT " + json.dumps({"label": args.label, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
