"""What an idempotency key costs: a keyed payment mutation on Redis next to an unkeyed one.

    python bench/idempotency.py [--requests 2000] [--out bench/results/<date>-idempotency.md]

Starts a real redis-server (loopback, no persistence), a backend stub that answers the
payment-session call at once (bench/stub/payment_collection.json), and `python -m gateway`
(1 worker) on Redis. Then, one request at a time (c=1, so latency is the gateway's own path),
three series, taking turns over five rounds: unkeyed; keyed with a new key each time (lock +
store: two Redis scripts); and keyed replays of one key (one script, no backend call). Reports p50/p99 latency seen by the
client and the gateway process's CPU per request (from /proc, Linux). Speed lives here, never
in unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
COLLECTION = json.loads((ROOT / "bench" / "stub" / "payment_collection.json").read_text())
SELECTION = "paymentSession { id status data } paymentCollection { id amount currencyCode }"
KEY = "pk_bench_0123456789"


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stub(port: int) -> None:
    """The backend stub (its own process): every payment-session call answers at once."""
    body = json.dumps(COLLECTION).encode()

    async def create(_: object) -> Response:
        return Response(body, media_type="application/json")

    path = "/store/payment-collections/{id}/payment-sessions"
    app = Starlette(routes=[Route(path, create, methods=["POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until `url` answers (any status), or exit if the process died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mutation(key: str | None) -> dict[str, Any]:
    """The request body: createPaymentSession, keyed or not."""
    payload: dict[str, Any] = {
        "paymentCollectionId": "pay_col_1",
        "providerId": "pp_system_default",
    }
    if key is not None:
        payload["idempotencyKey"] = key
    query = (
        "mutation ($input: CreatePaymentSessionInput!) "
        f"{{ createPaymentSession(input: $input) {{ {SELECTION} }} }}"
    )
    return {"query": query, "variables": {"input": payload}}


async def series(url: str, pid: int, bodies: list[dict[str, Any]]) -> dict[str, float]:
    """Send `bodies` one at a time: latency percentiles and the gateway's CPU per request."""
    latencies = []
    async with httpx.AsyncClient(headers={"x-publishable-api-key": KEY}) as client:
        for body in bodies[:50]:  # warm-up: connections, caches
            await client.post(
                url,
                json={
                    **body,
                    "variables": {"input": {**body["variables"]["input"], "idempotencyKey": None}},
                },
            )
        cpu0 = cpu_seconds(pid)
        for body in bodies:
            start = time.perf_counter()
            response = await client.post(url, json=body)
            latencies.append(time.perf_counter() - start)
            if response.status_code != 200 or "errors" in response.json():
                raise SystemExit(f"unexpected answer: {response.text[:300]}")
        cpu = cpu_seconds(pid) - cpu0
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "cpu_us": cpu / len(bodies) * 1e6,
    }


def main() -> int:
    """Run the three series and print (and write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--stub", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub is not None:
        stub(args.stub)
        return 0
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise SystemExit("needs redis-server (apt-get install redis-server)")
    processes: list[subprocess.Popen[bytes]] = []
    folder = tempfile.mkdtemp(prefix="bench-idem-")
    try:
        redis_port, stub_port, gateway_port = free_port(), free_port(), free_port()
        processes.append(
            subprocess.Popen(
                [
                    redis_binary,
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    folder,
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        processes.append(subprocess.Popen([sys.executable, __file__, "--stub", str(stub_port)]))
        env = {
            **os.environ,
            "GATEWAY_MEDUSA_URL": f"http://127.0.0.1:{stub_port}",
            "GATEWAY_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "GATEWAY_IDEMPOTENCY_SECRET": "bench-secret-0123456789abcdef0123456789",
            "GATEWAY_PORT": str(gateway_port),
            "GATEWAY_GRAPHIQL": "false",
            "GATEWAY_METRICS": "true",
            "GATEWAY_LOG_LEVEL": "warning",
        }
        gateway = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, cwd=ROOT)
        processes.append(gateway)
        wait_for(f"http://127.0.0.1:{stub_port}/", processes[1])
        wait_for(f"http://127.0.0.1:{gateway_port}/healthz", gateway)
        url = f"http://127.0.0.1:{gateway_port}/graphql"
        n = args.requests
        rounds = 5  # the series take turns, so a noisy neighbour hits them alike
        per_round = max(1, n // rounds)
        names = [
            "unkeyed",
            "keyed, new key (lock + store)",
            "keyed, replay (no backend call)",
        ]
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
        for turn in range(rounds):
            bodies = {
                names[0]: [mutation(None)] * per_round,
                names[1]: [mutation(f"k-{turn}-{i}") for i in range(per_round)],
                names[2]: [mutation("k-0-0")] * per_round,
            }
            for name in names:
                samples[name].append(asyncio.run(series(url, gateway.pid, bodies[name])))
        results = {
            name: {key: statistics.median(row[key] for row in rows) for key in rows[0]}
            for name, rows in samples.items()
        }
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=15)
        shutil.rmtree(folder, ignore_errors=True)
    base = results["unkeyed"]
    lines = [
        f"| createPaymentSession, c=1, {rounds}x{per_round} requests (median of rounds) | p50 ms | p99 ms | gateway CPU us/req | vs unkeyed (p50, CPU) |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | {row['cpu_us']:.0f} | "
            f"{row['p50_ms'] - base['p50_ms']:+.2f} ms, {row['cpu_us'] - base['cpu_us']:+.0f} us |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(
            f"# Idempotency cost ({time.strftime('%Y-%m-%d')})\n\n"
            "`python bench/idempotency.py`: python -m gateway (1 worker) on a local redis-server,\n"
            "in front of a stub that answers at once; one request at a time from one client.\n"
            "Machine: 2 shared cores (other work was running: compare rows, not runs).\n\n"
            f"{table}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
