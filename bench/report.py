"""Helpers for bench/run.sh: request bodies, a smoke check, and the ratio table.

report.py body QUERY.graphql VARIABLES.json        -> a GraphQL request body on stdout
report.py smoke URL BODY.json [BODY.json ...]      -> exit 1 unless each answers data, no errors
report.py table RESULTS.jsonl CLK_TCK              -> markdown table, ratios to rest-direct
"""

from __future__ import annotations

import json
import statistics
import sys
import urllib.request
from pathlib import Path
from typing import Any


def body(query_file: str, variables_file: str) -> None:
    """Print `{"query", "variables", "operationName"}` for wrk to post."""
    query = Path(query_file).read_text()
    variables = json.loads(Path(variables_file).read_text())
    print(json.dumps({"query": query, "variables": variables}))


def smoke(url: str, *bodies: str) -> None:
    """Every target must answer 200 with data and no errors before anything is measured."""
    for body_file in bodies:
        request = urllib.request.Request(  # noqa: S310  # loopback URL built by run.sh
            url,
            data=Path(body_file).read_bytes(),
            headers={"content-type": "application/json", "x-publishable-api-key": "pk_bench"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer = json.loads(response.read())
        if "errors" in answer or not answer.get("data"):
            sys.exit(f"smoke check failed for {body_file}: {json.dumps(answer)[:500]}")


def table(results_file: str, clock_ticks: str) -> None:
    """Medians across rounds; req/s, latency and CPU per request relative to rest-direct."""
    rows: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for line in Path(results_file).read_text().splitlines():
        result = json.loads(line)
        rows.setdefault((result["label"], result["concurrency"]), []).append(result)
    ticks = int(clock_ticks)

    def summary(results: list[dict[str, Any]]) -> dict[str, float]:
        rps = [r["wrk"]["requests"] / r["wrk"]["seconds"] for r in results]
        cpu = [1000 * r["cpu_ticks"] / ticks / max(r["wrk"]["requests"], 1) for r in results]
        return {
            "rps": statistics.median(rps),
            "p50": statistics.median(r["wrk"]["p50_ms"] for r in results),
            "p99": statistics.median(r["wrk"]["p99_ms"] for r in results),
            "cpu": statistics.median(cpu),
            "errors": sum(r["wrk"]["errors"] for r in results),
        }

    print("| target | conc | req/s | p50 ms | p99 ms | req/s x direct | CPU ms/req | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for (label, concurrency), results in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        s = summary(results)
        direct = summary(rows[("rest-direct", concurrency)])
        print(
            f"| {label} | {concurrency} | {s['rps']:,.0f} | {s['p50']:.2f} | {s['p99']:.2f} "
            f"| {s['rps'] / direct['rps']:.3f} | {s['cpu']:.3f} | {s['errors']:.0f} |"
        )


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "body":
        body(*arguments)
    elif command == "smoke":
        smoke(*arguments)
    else:
        table(*arguments)
