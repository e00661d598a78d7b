"""The worst documents we could find within the limits, and what they cost everyone else.

    python bench/hostile_documents.py            # both parts (~1 min)
    python bench/hostile_documents.py --cost     # part 1 only

Part 1 compiles each hostile shape (parse, limit checks, validation: what a cache miss costs)
with the default limits of a production gateway, and prints its CPU time (best of 5) and how it
ended. Each shape is sized to sit just inside the caps that bound validation's work
(GATEWAY_MAX_SELECTIONS, GATEWAY_MAX_FIELD_MERGES, GATEWAY_MAX_TOKENS, depth, aliases), or just
over one of them to show the refusal is cheap. The target: none above ~50 ms.

Part 2 starts a real gateway (uvicorn, sandbox backend) and measures a trivial query's latency
from one client, alone and then while 4 hostile clients send the worst shape, each time with a
new operation name so that every request misses the document cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.app import document_cache
from gateway.config import Settings
from gateway.graphql_http import DocumentCache
from schema.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent
TRIVIAL = {"query": "{ gateway { backendProfile } }"}


def _fields(count: int, prefix: str = "f") -> str:
    return " ".join(f"{prefix}{i}" for i in range(count))


def shapes(n: int = 0, tokens: int = 4_000) -> dict[str, str]:
    """Hostile documents by name; `n` varies the text (a new cache key) without changing cost.

    The shapes bounded by the token limit are sized for `tokens` (the default limit).
    """
    name = f"H{n}"

    def fit(count_at_5000: int) -> int:
        return count_at_5000 * tokens // 5_000

    ops, keys, directives, variables = fit(200), fit(1600), fit(690), fit(1200)
    nesting, comments = fit(2400), fit(4900)
    sub = "cartPaymentCollection(cartId: $c) { paymentSessions { id } }"
    deep = "paymentSessions { id status paymentCollection { id amount " * 5
    return {
        # The document: 300 copies, refused by the merge cap before validation.
        "repeat 300 x field{sub{id}} (refused)": f"query {name}($c: ID!) {{ {(sub + ' ') * 300}}}",
        # Just inside the merge cap: 3 paths x C(37, 2) = 1,998 pairs.
        "repeat 37 x field{sub{id}}": f"query {name}($c: ID!) {{ {(sub + ' ') * 37}}}",
        "repeat 63 x __typename": f"query {name} {{ {'__typename ' * 63}}}",
        "999 unknown fields": f"query {name} {{ {_fields(999)} }}",
        "1001 unknown fields (refused)": f"query {name} {{ {_fields(1001)} }}",
        "62 fragments side by side, 15 fields each": (
            f"query {name} {{ {' '.join(f'...F{i}' for i in range(62))} }} "
            + " ".join(f"fragment F{i} on Query {{ {_fields(15, f'x{i}_')} }}" for i in range(62))
        ),
        f"{ops} operations": " ".join(
            f"query {name}_{i}($c: ID!) {{ cartPaymentCollection(cartId: $c) {{ id amount }} }}"
            for i in range(ops)
        ),
        "depth 15 through back-references": (
            f"query {name}($c: ID!) {{ cartPaymentCollection(cartId: $c) {{ {deep}"
            + "id "
            + "} } " * 5
            + "} }"
        ),
        f"{keys}-key JSON literal": (
            f'mutation {name} {{ createPaymentSession(input: {{paymentCollectionId: "p", '
            f'providerId: "pp", data: {{{" ".join(f"k{i}: {i}" for i in range(keys))}}}}}) '
            "{ paymentSession { id } } }"
        ),
        f"{directives} repeated directives": (
            f"query {name} {{ __typename {'@include(if: true) ' * directives} }}"
        ),
        f"{variables} unused variables": (
            f"query {name}({' '.join(f'$v{i}: ID' for i in range(variables))}) {{ __typename }}"
        ),
        f"list nested {nesting} deep": (
            f"query {name} {{ paymentProviders(regionId: {'[' * nesting}1{']' * nesting}) {{ id }} }}"
        ),
        f"{comments} comment lines": f"query {name} {{ __typename }}\n" + "# x\n" * comments,
    }


def cost(cache: DocumentCache, make: Callable[[int], str]) -> tuple[float, str]:
    """Best-of-5 CPU milliseconds to compile, and the outcome."""
    best = float("inf")
    outcome = ""
    for attempt in range(5):
        document = make(attempt)
        started = time.process_time()
        try:
            compiled = cache.compile_uncached(document)
        except RecursionError:
            outcome = "RecursionError"
            continue
        best = min(best, time.process_time() - started)
        codes = sorted({getattr(e.original_error, "code", "?") for e in compiled.errors})
        outcome = "accepted" if not codes else "refused " + ",".join(codes)
    return best * 1_000, outcome


def part_one() -> str:
    """Print each shape's compile cost; return the worst shape's name."""
    settings = Settings(env="production", medusa_url="http://medusa.invalid")
    cache = document_cache(settings.model_copy(update={"document_cache_size": 0}), build_schema())
    cost(cache, lambda n: f"query W{n} {{ __typename }}")  # warm up
    rows = []
    worst = ("", 0.0)
    tokens = settings.max_tokens
    for label, document in shapes(tokens=tokens).items():
        ms, outcome = cost(cache, lambda n, label=label: shapes(n, tokens)[label])  # type: ignore[misc]
        rows.append(f"| {label} | {len(document):,} | {ms:.1f} | {outcome} |")
        if ms > worst[1]:
            worst = (label, ms)
    print("| shape | bytes | CPU ms (best of 5) | outcome |")
    print("|---|---:|---:|---|")
    for row in rows:
        print(row)
    print(f"\nworst: {worst[0]} ({worst[1]:.1f} ms; GATEWAY_MAX_TOKENS={tokens})")
    return worst[0]


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def part_two(worst: str, seconds: float = 10.0) -> None:
    """Print a trivial query's latency alone, then with 4 clients sending `worst`."""
    port = _free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_INTROSPECTION": "false",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "gateway"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(100):
                try:
                    client.post(url, json=TRIVIAL)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            alone = _latencies(client, url, seconds / 2)
            stop = threading.Event()
            hostile = [
                threading.Thread(target=_hostile, args=(url, worst, index, stop))
                for index in range(4)
            ]
            for thread in hostile:
                thread.start()
            time.sleep(0.5)
            loaded = _latencies(client, url, seconds)
            stop.set()
            for thread in hostile:
                thread.join()
    finally:
        server.terminate()
        server.wait(10)
    for label, values in (("alone", alone), ("with 4 hostile clients", loaded)):
        values.sort()
        p50 = statistics.median(values) * 1_000
        p95 = values[int(len(values) * 0.95)] * 1_000
        print(f"trivial query {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(values)} requests)")


def _latencies(client: httpx.Client, url: str, seconds: float) -> list[float]:
    values = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        client.post(url, json=TRIVIAL).raise_for_status()
        values.append(time.perf_counter() - started)
    return values


def _hostile(url: str, label: str, index: int, stop: threading.Event) -> None:
    n = index * 1_000_000
    with httpx.Client(timeout=30) as client:
        while not stop.is_set():
            n += 1
            client.post(url, json={"query": shapes(n, Settings().max_tokens)[label]})


def main() -> None:
    """Run part 1, then part 2 unless --cost."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost", action="store_true", help="part 1 only")
    args = parser.parse_args()
    worst = part_one()
    if not args.cost:
        print()
        part_two(worst)


if __name__ == "__main__":
    main()
