"""`python -m gateway.healthcheck`: exit 0 when the gateway on this machine answers /healthz.

The image's HEALTHCHECK runs it. It asks the port the server listens on, read from the same
GATEWAY_PORT / GATEWAY_HOST the server reads, so `docker run -e GATEWAY_PORT=9000` keeps the
check right. Standard library only (a probe every few seconds must cost little), and no proxy:
the check is about this machine. Exit 1 when unhealthy (Docker reserves 2), with the reason.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
from collections.abc import Sequence

from gateway.listen import local_address

__all__ = ["add_arguments", "check", "main", "run"]

_DEFAULT_PORT = 8000  # Settings.port's default; the image sets GATEWAY_PORT explicitly anyway


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The check's flags (shared by `python -m gateway healthcheck`)."""
    parser.add_argument(
        "--host",
        default=None,
        help="where the gateway listens (default: env GATEWAY_HOST, else 127.0.0.1; "
        "0.0.0.0 or :: is checked on loopback)",
    )
    parser.add_argument(
        "--port",
        default=None,
        help=f"the gateway's port (default: env GATEWAY_PORT, else {_DEFAULT_PORT})",
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="seconds to wait for the answer (default: 2)"
    )


def check(host: str, port: int, timeout: float) -> str | None:
    """None when GET /healthz answers 200, else why not (one line)."""
    connection = http.client.HTTPConnection(local_address(host), port, timeout=timeout)
    try:
        connection.request("GET", "/healthz", headers={"user-agent": "gateway-healthcheck"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as error:
        return f"GET /healthz on port {port}: {str(error) or type(error).__name__}"
    finally:
        connection.close()
    if response.status != 200:  # HTTP OK
        return f"GET /healthz on port {port} answered HTTP {response.status}"
    return None


def run(host: str | None, port: str | None, timeout: float) -> int:
    """The check as an exit code: flags first, then the server's GATEWAY_* variables."""
    host = host or os.environ.get("GATEWAY_HOST", "").strip() or "127.0.0.1"
    raw_port = port or os.environ.get("GATEWAY_PORT", "").strip() or str(_DEFAULT_PORT)
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:  # TCP range
        print(f"unhealthy: port {raw_port!r} is not a TCP port (GATEWAY_PORT)", file=sys.stderr)  # noqa: T201  # Docker keeps this output
        return 1
    problem = check(host, int(raw_port), timeout)
    if problem is not None:
        print(f"unhealthy: {problem}", file=sys.stderr)  # noqa: T201  # Docker keeps this output
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags and run the check."""
    parser = argparse.ArgumentParser(
        prog="python -m gateway.healthcheck",
        description="Exit 0 if the local gateway answers GET /healthz, else 1 with the reason.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.host, args.port, args.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
