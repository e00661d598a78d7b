"""Serve the gateway on one of the server stacks the A/B of docs/performance.md compares.

    GATEWAY_*=... python bench/server_ab.py fast|router|plain

- `fast`: what `python -m gateway` runs: uvicorn + GatewayHttpProtocol, /graphql dispatched
  by Admission straight to the endpoint (FastAPI's router and exception middleware skipped);
- `router`: the same, but Admission hands admitted requests to FastAPI's router;
- `plain`: uvicorn's own httptools protocol (no header/body/idle deadlines), fast path: what
  the deadlines and header limits cost.

granian is run by bench/server_ab.sh with its own CLI on `gateway.cli:app_from_environment`.
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn

from gateway import cli, server
from gateway.admission import Admission
from gateway.config import load_settings


def main(variant: str) -> int:
    """Build the app from the environment and serve it the `variant` way."""
    settings = load_settings()
    app = cli._configured_app(settings)  # the CLI's own wiring, reused
    options: dict[str, Any] = {"log_level": "warning", "log_config": None, "access_log": False}
    if variant == "router":
        Admission.fast_path = False
    if variant == "plain":
        uvicorn.run(app, host=settings.host, port=settings.port, http="httptools", **options)
        return 0
    if variant not in {"fast", "router"}:
        print(f"unknown variant {variant!r}", file=sys.stderr)
        return 2
    return server.serve(settings, app, **options)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
