"""Command line: `serve` (the default), `check`, `export-schema` and `fetch-graphiql`.

Every setting is also a flag (`--medusa-url` for GATEWAY_MEDUSA_URL ...); flags win over the
environment. Prefer the environment for the publishable key: flags are visible in `ps`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, get_args, get_origin

from pydantic import SecretStr

from gateway.config import Settings, SettingsError, load_settings, unknown_variables
from gateway.tools import graphiql_assets

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medusa-graphql-gateway",
        description="GraphQL gateway for Medusa v2's store payment-session API.",
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the gateway (default)")
    _add_setting_flags(serve)
    commands.add_parser("export-schema", help="print the GraphQL SDL to stdout")
    check = commands.add_parser(
        "check",
        help="call the configured Medusa with the configured key and say what works",
    )
    _add_setting_flags(check)
    fetch = commands.add_parser(
        "fetch-graphiql",
        help="download GraphiQL's pinned npm files so the gateway serves them (build time)",
    )
    graphiql_assets.add_arguments(fetch)
    _add_setting_flags(parser)  # `medusa-graphql-gateway --port 9000` means serve
    return parser


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        help_text = f"{field.description or ''} (env GATEWAY_{name.upper()})"
        if field.annotation is bool:
            parser.add_argument(
                flag,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag,
                dest=name,
                default=argparse.SUPPRESS,
                metavar=_metavar(field.annotation),
                help=help_text,
            )


def _metavar(annotation: object) -> str:
    if get_origin(annotation) is not None and str in get_args(annotation):
        return "TEXT"
    names: dict[object, str] = {int: "INT", float: "SECONDS"}
    return names.get(annotation, "VALUE")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = vars(_parser().parse_args(argv))
    command = args.pop("command", None) or "serve"
    if command == "export-schema":
        from schema.schema import print_sdl  # noqa: PLC0415  # keep `serve` start-up lean

        sys.stdout.write(print_sdl())
        return 0
    if command == "fetch-graphiql":
        return graphiql_assets.run(args["dir"], args["registry"])
    try:
        settings = load_settings(**args)
    except SettingsError as error:
        print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
        # A misspelled variable is the likeliest cause of a missing setting: name it here too.
        for name, close in unknown_variables(os.environ):
            hint = f"; did you mean {close}?" if close else ""
            print(f"  {name}: unknown setting, ignored{hint}", file=sys.stderr)  # noqa: T201
        return 2
    if command == "check":
        from gateway.check_command import run_check  # noqa: PLC0415  # keep `serve` lean

        return run_check(settings)
    return _serve(settings)


def _serve(settings: Settings) -> int:
    import uvicorn  # noqa: PLC0415  # not needed by export-schema

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "log_config": None,  # uvicorn's loggers go through ours (text or JSON, request ids)
        "access_log": False,  # uvicorn's own access log is slow; GATEWAY_ACCESS_LOG is ours
        "server_header": False,
        "proxy_headers": False,
        # On SIGTERM uvicorn stops accepting and waits for open connections, then runs the
        # lifespan's drain; both are bounded by the same grace period.
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_grace),
    }
    if settings.workers > 1:
        try:
            _check_manifest(settings)  # once here: a bad one must stop start-up, not N workers
        except SettingsError as error:
            print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
            return 2
        # uvicorn starts each worker from an import string; the worker rebuilds these settings
        # from the environment it inherits (never from argv: keys would show in `ps`).
        os.environ.update(_as_environment(settings))
        uvicorn.run(
            "gateway.cli:app_from_environment", factory=True, workers=settings.workers, **options
        )
        return 0
    try:
        app = _configured_app(settings)
    except SettingsError as error:  # the OTEL_* variables are checked here
        print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
        return 2
    uvicorn.run(app, **options)
    return 0


def _check_manifest(settings: Settings) -> None:
    """Load the trusted documents manifest as a worker will, or raise ManifestError."""
    if settings.trusted_documents is None:
        return
    from gateway.app import document_cache  # noqa: PLC0415
    from gateway.trusted_documents import load_manifest  # noqa: PLC0415
    from schema.schema import build_schema  # noqa: PLC0415

    cache = document_cache(settings, build_schema())
    load_manifest(settings.trusted_documents, cache.compile_uncached)


def app_from_environment() -> FastAPI:
    """A worker's app (`--workers N`): settings from the GATEWAY_* variables its parent set."""
    return _configured_app(load_settings())


def _configured_app(settings: Settings) -> FastAPI:
    from gateway.app import create_app  # noqa: PLC0415
    from gateway.logging_setup import configure_logging  # noqa: PLC0415
    from gateway.startup import warn_unknown_variables  # noqa: PLC0415

    configure_logging(settings)  # httpx's per-request INFO lines are silenced there
    warn_unknown_variables(os.environ)
    return create_app(settings)


def _as_environment(settings: Settings) -> dict[str, str]:
    """GATEWAY_* variables that `load_settings()` turns back into `settings`."""
    environment = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, list):
            value = ",".join(value)
        environment[f"GATEWAY_{name.upper()}"] = str(value)
    return environment
