"""Slow and idle clients against a real gateway process: the timings tests/floods only bound.

    python bench/slow_clients.py [--sockets 500] [--header-timeout S] [--body-timeout S]

Starts `python -m gateway` (embedded sandbox, default settings unless given) on a free
loopback port, then for each flood of issue 12 (headers + 1 body byte, slowloris headers
trickled byte by byte, idle sockets, never-ending headers, aborted uploads) measures a
legitimate mutation's latency during the flood (p50 and max of 20, one after the other),
how long the server took to cut every hostile socket and how, and the gateway's RSS (now and
its peak, VmHWM). Prints a markdown table; stops the gateway by PID.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.floods.clients import GatewayProcess, SocketFlood, gateway_process

SLOW_BODY = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 400\r\n\r\n{"
)
SLOWLORIS = b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
ENDLESS = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: "


def legit(gateway: GatewayProcess, count: int = 20) -> tuple[float, float, int]:
    """p50 and max (ms) of `count` mutations, and how many were not 200."""
    seconds, failed = [], 0
    for _ in range(count):
        status, _, took = gateway.mutation(timeout=60)
        seconds.append(took)
        failed += status != 200
    return statistics.median(seconds) * 1000, max(seconds) * 1000, failed


def flood_row(  # noqa: PLR0917  # one table row per flood
    gateway: GatewayProcess,
    name: str,
    sockets: int,
    opening: bytes,
    wait: float,
    during: Callable[[SocketFlood], None] | None = None,
) -> str:
    """One flood: open it, time legitimate mutations, wait for the hostile sockets to end."""
    flood = SocketFlood(gateway.port)
    try:
        opened = time.monotonic()
        flood.open(sockets, opening)
        if during is not None:
            during(flood)
        p50, worst, failed = legit(gateway)
        rss_during = gateway.rss_mib()
        outcome = flood.answers(wait=wait)
        cut = time.monotonic() - opened
    finally:
        flood.close()
    ended = ", ".join(f"{n} {k}" for k, n in sorted(outcome.items()))
    return (
        f"| {name} | {sockets} | {p50:.1f} / {worst:.1f} | {failed} | {ended} in {cut:.1f} s "
        f"| {rss_during:.1f} | {gateway.peak_rss_mib():.1f} |"
    )


def _endless(flood: SocketFlood) -> None:
    flood.flood_headers(per_socket=1_000_000)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--header-timeout", type=float, default=None)
    parser.add_argument("--body-timeout", type=float, default=None)
    parser.add_argument("--keepalive-timeout", type=float, default=None)
    parser.add_argument(
        "--granian",
        action="store_true",
        help="serve the same app with granian instead (pip install granian), header read "
        "timeout = --header-timeout: the comparison of docs/performance.md",
    )
    args = parser.parse_args(argv)
    settings: dict[str, object] = {"log_level": "warning"}
    for name in ("header_timeout", "body_timeout", "keepalive_timeout"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    header_timeout = float(settings.get("header_timeout", 10.0))  # type: ignore[arg-type]
    body_timeout = float(settings.get("body_timeout", 20.0))  # type: ignore[arg-type]
    keepalive = float(settings.get("keepalive_timeout", 5.0))  # type: ignore[arg-type]
    command: list[str] = []
    if args.granian:
        granian = str(Path(sys.executable).with_name("granian"))
        command = [granian, "--interface", "asgi", "--loop", "uvloop", "--host", "127.0.0.1"]
        command += ["--port", "{port}", "--workers", "1", "--no-ws", "--http", "1"]
        command += ["--http1-header-read-timeout", str(int(header_timeout * 1000))]
        command += ["--log-level", "warning", "--factory", "gateway.cli:app_from_environment"]
        settings["server"] = "granian"
    with (
        tempfile.TemporaryDirectory() as logs,
        gateway_process(
            Path(logs), command, **{k: v for k, v in settings.items() if k != "server"}
        ) as gw,
    ):
        idle_rss = gw.rss_mib()
        p50, worst, failed = legit(gw)
        rows = [
            f"Gateway: default settings except {settings}; RSS at rest {idle_rss:.1f} MiB.",
            "",
            "| flood | sockets | legitimate mutation during it, p50 / max ms (20) | not 200 "
            "| hostile sockets ended | RSS during, MiB | peak RSS so far, MiB |",
            "|---|---|---|---|---|---|---|",
            f"| none | 0 | {p50:.1f} / {worst:.1f} | {failed} | - | {gw.rss_mib():.1f} "
            f"| {gw.peak_rss_mib():.1f} |",
            flood_row(gw, "headers + 1 body byte", args.sockets, SLOW_BODY, body_timeout + 15),
            flood_row(
                gw,
                "slowloris (a header byte / 0.5 s)",
                args.sockets,
                SLOWLORIS,
                header_timeout + 15,
                during=lambda f: f.trickle(b"X-Slow: " + b"a" * 200, interval=0.5),
            ),
            flood_row(gw, "idle connections", args.sockets, b"", keepalive + 15),
            flood_row(
                gw,
                "never-ending headers (1 MiB each)",
                args.sockets,
                ENDLESS,
                15,
                during=_endless,
            ),
            flood_row(
                gw,
                "uploads aborted midway (RST)",
                args.sockets,
                SLOW_BODY,
                1,
                during=lambda f: f.abort(),
            ),
        ]
        after = gw.rss_mib()
        tracebacks = gw.log_text().count("Traceback")
    rows += [
        "",
        f"RSS after the floods: {after:.1f} MiB; tracebacks in the gateway's log: {tracebacks}.",
    ]
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
