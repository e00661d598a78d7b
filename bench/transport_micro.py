"""Transport-only micro-benchmark: KeepAliveTransport against httpx's default (httpcore).

A raw asyncio HTTP/1.1 server in a child process answers every request with a fixed 3 KB
JSON body (bench/stub/payment_collection.json); the parent sends N requests at concurrency C
through each transport and prints requests/s and CPU microseconds per request of the client
process. No thresholds: a figure to compare before/after a transport change on one machine
(`--transport-file old/transport.py` measures another version of the module).

    python bench/transport_micro.py [--requests 20000] [--concurrency 1 32] [--transport-file F]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import socket
import time
from pathlib import Path
from typing import Any

import httpx

from medusa_client.transport import KeepAliveTransport

BODY = (Path(__file__).parent / "stub" / "payment_collection.json").read_bytes()
ANSWER = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n"
    b"content-length: %d\r\n\r\n" % len(BODY)
) + BODY


def serve(sock: socket.socket) -> None:
    """The child: answer every request on every connection, forever."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                writer.write(ANSWER)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(on_client, sock=sock)
        await server.serve_forever()

    asyncio.run(main())


def transport_class(path: str | None) -> Any:  # noqa: ANN401  # a class loaded by path
    """KeepAliveTransport from this checkout, or from another version's file."""
    if path is None:
        return KeepAliveTransport
    spec = importlib.util.spec_from_file_location("other_transport", path)
    assert spec is not None and spec.loader is not None  # noqa: S101, PT018  # a CLI check
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.KeepAliveTransport


async def load(
    transport: httpx.AsyncBaseTransport, port: int, requests: int, concurrency: int
) -> tuple[float, float]:
    """Wall and client CPU seconds for `requests` POSTs at `concurrency`."""
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://127.0.0.1:{port}", trust_env=False
    ) as client:
        body = b'{"provider_id":"pp_system_default"}'
        await client.post("/warm", content=body)
        left = requests

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                response = await client.post(
                    "/store/payment-collections/x/payment-sessions", content=body
                )
                if response.status_code != 200:
                    raise RuntimeError(response.status_code)

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--transport-file", default=None, help="another transport.py to measure")
    parser.add_argument("--only-keepalive", action="store_true", help="skip httpcore")
    args = parser.parse_args()
    keepalive = transport_class(args.transport_file)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    port = sock.getsockname()[1]
    child = multiprocessing.Process(target=serve, args=(sock,), daemon=True)
    child.start()
    try:
        print("| transport | concurrency | req/s | client CPU us/req |")
        print("|---|---:|---:|---:|")
        for concurrency in args.concurrency:
            for name, make in (
                (
                    "KeepAliveTransport",
                    lambda: keepalive(max_connections=100, keepalive_expiry=4.0),
                ),
                (
                    "httpcore",
                    lambda: httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=100)),
                ),
            ):
                if args.only_keepalive and name == "httpcore":
                    continue
                wall, cpu = asyncio.run(load(make(), port, args.requests, concurrency))
                print(
                    f"| {name} | {concurrency} | {args.requests / wall:,.0f} | {cpu / args.requests * 1e6:,.0f} |"
                )
    finally:
        child.terminate()
        child.join()


if __name__ == "__main__":
    main()
