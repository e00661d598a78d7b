"""Command line: `serve` (the default), `check`, `export-schema`, `fetch-graphiql`, `healthcheck`.

Every setting is also a flag (`--medusa-url` for GATEWAY_MEDUSA_URL ...); flags win over the
environment. Prefer the environment for the publishable key: flags are visible in `ps`.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin

from pydantic import AnyHttpUrl, SecretStr

from gateway import __version__, healthcheck, listen
from gateway.config import Settings, SettingsError, env_name, load_settings, unknown_variables
from gateway.tools import graphiql_assets

if TYPE_CHECKING:
    from fastapi import FastAPI
    from pydantic.fields import FieldInfo

__all__ = ["main"]

_log = logging.getLogger("gateway")
_STARTUP_FAILURE = 3  # uvicorn's exit code when the app's start-up failed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medusa-graphql-gateway",
        # Short: argparse's generated usage lists all ~40 setting flags before every error.
        usage="%(prog)s [-h] [--version] [COMMAND] [--SETTING VALUE ...]",
        description="GraphQL gateway for Medusa v2's store payment-session API. "
        "Every setting is a flag and a GATEWAY_* variable; flags win.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="serve the gateway (default)", usage="%(prog)s [-h] [--SETTING VALUE ...]"
    )
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
    probe = commands.add_parser(
        "healthcheck",
        help="exit 0 if the gateway on this machine answers /healthz (the image's HEALTHCHECK)",
    )
    healthcheck.add_arguments(probe)
    _add_setting_flags(parser)  # `medusa-graphql-gateway --port 9000` means serve
    return parser


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    for name, field in Settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        # argparse %-formats help texts: a literal % in a description must be doubled.
        help_text = (
            f"{field.description or ''} (default: {_default(field)}; env GATEWAY_{name.upper()})"
        ).replace("%", "%%")
        if field.annotation is bool:
            parser.add_argument(
                flag,
                dest=name,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        elif get_origin(field.annotation) is Literal:
            parser.add_argument(
                flag,
                dest=name,
                default=argparse.SUPPRESS,
                choices=get_args(field.annotation),
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


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ",".join(str(item) for item in value) or "none"
    return str(value)


def _metavar(annotation: object) -> str:
    parts = get_args(annotation) if get_origin(annotation) is not None else (annotation,)
    if str in parts:
        return "TEXT"
    names: dict[object, str] = {
        int: "INT",
        float: "SECONDS",
        AnyHttpUrl: "URL",
        Path: "DIR",
        SecretStr: "KEY",
    }
    return next((names[part] for part in parts if part in names), "VALUE")


def _unknown_option(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str | None:
    """The first `--option` no command knows, with a suggestion, or None.

    argparse would read `--prot 9000` as an unknown flag followed by a command named "9000" and
    blame the command ("invalid choice"); the user mistyped the flag, so name the flag.
    """
    known = _known_options(parser)
    for token in argv:
        if token == "--":  # noqa: S105  # not a password: argparse's end of options
            break
        option = token.split("=", 1)[0]
        if option.startswith("--") and option not in known:
            close = difflib.get_close_matches(option, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return f"unknown option {option}{hint}; see --help"
    return None


def _known_options(parser: argparse.ArgumentParser) -> set[str]:
    known: set[str] = set()
    for action in parser._actions:  # argparse has no public view of its options
        known.update(action.option_strings)
        if isinstance(action.choices, dict):  # the subcommands, each with its own parser
            for command in action.choices.values():
                known |= _known_options(command)
    return known


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    unknown = _unknown_option(parser, argv)
    if unknown is not None:
        parser.error(unknown)
    args = vars(parser.parse_args(argv))
    command = args.pop("command", None) or "serve"
    if command == "export-schema":
        from schema.schema import print_sdl  # noqa: PLC0415  # keep `serve` start-up lean

        sys.stdout.write(print_sdl())
        return 0
    if command == "fetch-graphiql":
        return graphiql_assets.run(args["dir"], args["registry"])
    if command == "healthcheck":
        return healthcheck.run(args.get("host"), args.get("port"), args["timeout"])
    try:
        settings = load_settings(**args)
    except SettingsError as error:
        # A value the user typed as a flag is blamed on that flag, not on its variable.
        print(error.naming(lambda field: _flag_or_variable(field, args)), file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
        # A misspelled variable is the likeliest cause of a missing setting: name it here too.
        for name, close in unknown_variables(os.environ):
            hint = f"; did you mean {close}?" if close else ""
            print(f"  {name}: unknown setting, ignored{hint}", file=sys.stderr)  # noqa: T201
        return 2
    if command == "check":
        from gateway.check_command import run_check  # noqa: PLC0415  # keep `serve` lean

        return run_check(settings)
    return _serve(settings)


def _flag_or_variable(field: str, given: dict[str, Any]) -> str:
    return "--" + field.replace("_", "-") if field in given else env_name(field)


def _serve(settings: Settings) -> int:
    from gateway.server import serve  # noqa: PLC0415  # not needed by export-schema

    # Bind before anything else: a busy port fails here, before a banner or "startup complete".
    try:
        sock = listen.bind(settings.host, settings.port)
    except listen.PortUnavailableError as error:
        print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
        return 1
    options: dict[str, Any] = {
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
        # uvicorn's supervisor binds the port again before it starts any worker (so a busy port
        # still fails first); each worker rebuilds these settings from the environment it
        # inherits (never from argv: keys would show in `ps`).
        sock.close()
        try:
            _check_manifest(settings)  # once here: a bad one must stop start-up, not N workers
        except SettingsError as error:
            print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
            return 2
        os.environ.update(_as_environment(settings))
        serve(settings, "gateway.cli:app_from_environment", factory=True, **options)
        return 0
    try:
        app = _configured_app(settings)
    except SettingsError as error:  # the OTEL_* variables are checked here
        sock.close()
        print(error, file=sys.stderr)  # noqa: T201  # the operator's terminal is the audience
        return 2
    _announce_address(settings)
    try:
        started = serve(settings, app, sockets=[sock], **options)
    finally:
        sock.close()
    return 0 if started else _STARTUP_FAILURE


def _announce_address(settings: Settings) -> None:
    """One line with a URL that works in a browser (never http://0.0.0.0:...)."""
    url = listen.browsable_url(settings.host, settings.port, "/graphql")
    if listen.wildcard(settings.host):
        _log.info(
            "listening on all interfaces (%s), port %d: %s", settings.host, settings.port, url
        )
    else:
        _log.info("listening on %s", url)


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
