from __future__ import annotations

import importlib.metadata
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from gateway import cli
from gateway.config import Settings, load_settings
from gateway.server import GatewayHttpProtocol, ServerLimits
from schema.schema import print_sdl
from tests.serving import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    calls: list[Settings] = []

    def fake_serve(settings: Settings) -> int:
        calls.append(settings)
        return 0

    monkeypatch.setattr(cli, "_serve", fake_serve)
    return calls


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("GATEWAY_")}


def python_dash_m_gateway(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m gateway ARGS` in a child process, without the GATEWAY_* environment."""
    return subprocess.run(  # noqa: S603  # our interpreter, the tests' own arguments
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env=clean_env(),
        cwd=ROOT,
    )


# --- export-schema ----------------------------------------------------------------------------


def test_export_schema_prints_the_sdl(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["export-schema"]) == 0
    out, err = capsys.readouterr()
    assert out == print_sdl()
    assert "type Mutation" in out
    assert err == ""
    assert served == []


def test_export_schema_matches_the_committed_schema_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["export-schema"]) == 0
    assert capsys.readouterr().out == (ROOT / "schema" / "schema.graphql").read_text()


def test_export_schema_ignores_invalid_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "70000")
    assert cli.main(["export-schema"]) == 0
    assert capsys.readouterr().out == print_sdl()


# --- serve ------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[], ["serve"]])
def test_serve_is_the_default_and_uses_the_defaults(
    served: list[Settings], argv: list[str]
) -> None:
    assert cli.main(argv) == 0
    (settings,) = served
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.uses_sandbox is True
    assert settings.debug is False
    assert settings.graphiql is True


def test_serves_exit_code_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_serve", lambda _settings: 3)
    assert cli.main([]) == 3


@pytest.mark.parametrize("prefix", [[], ["serve"]], ids=["top-level", "serve"])
@pytest.mark.parametrize(
    ("flags", "attribute", "expected"),
    [
        (["--host", "::1"], "host", "::1"),
        (["--port", "9300"], "port", 9300),
        (["--medusa-url", "http://m.internal:9000/"], "medusa_base_url", "http://m.internal:9000"),
        (["--connect-timeout", "1.5"], "connect_timeout", 1.5),
        (["--request-timeout", "45"], "request_timeout", 45.0),
        (["--pool-timeout", "2"], "pool_timeout", 2.0),
        (["--max-connections", "7"], "max_connections", 7),
        (["--backend-profile", "open"], "backend_profile", "open"),
        (["--debug"], "debug", True),
        (["--no-debug"], "debug", False),
        (["--graphiql"], "graphiql", True),
        (["--no-graphiql"], "graphiql", False),
        (
            ["--cors-origins", "https://a.example, https://b.example"],
            "cors_origins",
            ["https://a.example", "https://b.example"],
        ),
        (["--max-query-bytes", "2000"], "max_query_bytes", 2000),
        (["--max-depth", "4"], "max_depth", 4),
        (["--max-aliases", "5"], "max_aliases", 5),
        (["--document-cache-size", "0"], "document_cache_size", 0),
        (["--log-level", "debug"], "log_level", "debug"),
    ],
)
def test_flags_map_to_settings(
    served: list[Settings], prefix: list[str], flags: list[str], attribute: str, expected: object
) -> None:
    assert cli.main([*prefix, *flags]) == 0
    (settings,) = served
    assert getattr(settings, attribute) == expected


def test_the_publishable_key_flag_becomes_a_secret(served: list[Settings]) -> None:
    assert cli.main(["--publishable-key", "pk_from_flag"]) == 0
    (settings,) = served
    assert settings.publishable_key is not None
    assert settings.publishable_key.get_secret_value() == "pk_from_flag"


def test_the_custom_profile_with_its_fields(served: list[Settings]) -> None:
    argv = ["serve", "--backend-profile", "custom", "--backend-allowed-fields", "id, amount"]
    assert cli.main(argv) == 0
    (settings,) = served
    assert settings.backend_profile == "custom"
    assert settings.backend_allowed_fields == ["id", "amount"]


def test_unset_flags_leave_other_settings_at_their_defaults(served: list[Settings]) -> None:
    assert cli.main(["--port", "9300"]) == 0
    (settings,) = served
    assert settings.model_dump(exclude={"port"}) == Settings().model_dump(exclude={"port"})


def test_flags_before_and_after_serve_combine(served: list[Settings]) -> None:
    assert cli.main(["--port", "9000", "serve", "--debug"]) == 0
    (settings,) = served
    assert (settings.port, settings.debug) == (9000, True)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], (9100, True, False)),  # the environment is used when no flag is given
        (["--port", "9200", "--no-debug", "--graphiql"], (9200, False, True)),  # flags win
    ],
)
def test_flags_win_over_the_environment_which_wins_over_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
    served: list[Settings],
    argv: list[str],
    expected: tuple[int, bool, bool],
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "9100")
    monkeypatch.setenv("GATEWAY_DEBUG", "1")
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "0")
    assert cli.main(argv) == 0
    (settings,) = served
    assert (settings.port, settings.debug, settings.graphiql) == expected


def test_debug_flag_beats_a_false_environment(
    monkeypatch: pytest.MonkeyPatch, served: list[Settings]
) -> None:
    monkeypatch.setenv("GATEWAY_DEBUG", "false")
    assert cli.main(["--debug"]) == 0
    assert served[0].debug is True


# --- invalid settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["--port", "70000"], ["serve", "--port", "70000"], ["--port", "abc"], ["--port=abc"]],
)
def test_a_bad_flag_value_exits_2_blaming_the_flag_typed(
    served: list[Settings], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert "--port:" in err
    assert "GATEWAY_PORT" not in err  # the user never set the variable
    assert "70000" not in err
    assert out == ""
    assert served == []


def test_flags_and_variables_are_each_named_as_the_user_gave_them(
    monkeypatch: pytest.MonkeyPatch, served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_MAX_DEPTH", "1")
    assert cli.main(["--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "  --port:" in err
    assert "  GATEWAY_MAX_DEPTH:" in err
    assert "--max-depth" not in err
    assert "GATEWAY_PORT" not in err
    assert served == []


def test_a_bad_environment_exits_2_too(
    monkeypatch: pytest.MonkeyPatch, served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_MAX_DEPTH", "1")
    assert cli.main([]) == 2
    assert "GATEWAY_MAX_DEPTH" in capsys.readouterr().err
    assert served == []


def test_a_secret_in_a_bad_flag_is_not_printed(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--medusa-url", "http://user:s3cr3t@medusa.internal"]) == 2
    out, err = capsys.readouterr()
    assert "--medusa-url" in err
    assert "s3cr3t" not in out + err
    assert served == []


@pytest.mark.parametrize(
    "argv",
    [["--no-such-flag"], ["--port"], ["frobnicate"], ["--debug", "yes"], ["serve", "--nope"]],
)
def test_malformed_command_lines_are_usage_errors(
    served: list[Settings], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err
    assert served == []


@pytest.mark.parametrize(
    ("argv", "typed", "meant"),
    [
        (["--prot", "9000"], "--prot", "--port"),
        (["serve", "--prot", "9000"], "--prot", "--port"),
        (["--prot=9000"], "--prot", "--port"),
        (["--medusa-ulr", "http://m.internal"], "--medusa-ulr", "--medusa-url"),
        (["fetch-graphiql", "--registy", "https://r.example"], "--registy", "--registry"),
    ],
)
def test_a_mistyped_flag_is_named_with_a_suggestion_not_blamed_on_the_command(
    served: list[Settings],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    typed: str,
    meant: str,
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown option {typed} (did you mean {meant}?)" in err
    assert "invalid choice" not in err
    assert served == []


def test_a_mistyped_command_is_an_invalid_choice_listing_the_commands(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serv"])
    err = capsys.readouterr().err
    assert "invalid choice: 'serv'" in err
    assert "'serve'" in err
    assert served == []


def test_options_after_a_double_dash_are_not_checked(served: list[Settings]) -> None:
    # `--` ends the options: whatever follows is argparse's to judge (here: extra arguments).
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve", "--", "--prot"])
    assert caught.value.code == 2


# --- help -------------------------------------------------------------------------------------


def test_version_is_the_installed_release(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == (
        f"medusa-graphql-gateway {importlib.metadata.version('medusa-graphql-gateway')}\n"
    )


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_shows_each_default_and_the_choices(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    text = _help(argv, capsys)
    for shown in [
        "--port INT TCP port to listen on. (default: 8000; env GATEWAY_PORT)",
        "(default: 127.0.0.1; env GATEWAY_HOST)",
        "(default: unset; env GATEWAY_MEDUSA_URL)",
        "(default: off; env GATEWAY_DEBUG)",
        "(default: on; env GATEWAY_GRAPHIQL)",
        "(default: connect.sid; env GATEWAY_FORWARD_COOKIES)",
        "(default: none; env GATEWAY_CORS_ORIGINS)",
        "--env {development,production}",
        "--backend-profile {medusa-2.21,open,custom}",
        "--log-level {critical,error,warning,info,debug}",
        "--medusa-url URL",
        "--publishable-key KEY",
    ]:
        assert shown in text
    defaults = Settings()
    for name in ["max_depth", "max_body_bytes", "request_timeout", "backend_profile"]:
        assert f"(default: {getattr(defaults, name)}; env GATEWAY_{name.upper()})" in text


def test_the_choices_are_enforced_naming_the_flag(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--backend-profile", "medusa-3"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "argument --backend-profile: invalid choice: 'medusa-3'" in err
    assert served == []


def test_the_usage_line_stays_short(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--no-such-flag"])
    usage = capsys.readouterr().err.splitlines()[0]
    assert usage.startswith("usage: medusa-graphql-gateway")
    assert len(usage) <= 100  # not the ~40 setting flags before every error


def test_every_setting_has_a_flag_naming_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["serve", "--help"])
    assert caught.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in Settings.model_fields:
        assert "--" + name.replace("_", "-") in text
        assert f"GATEWAY_{name.upper()}" in text
    assert "--no-debug" in text
    assert "--no-graphiql" in text


def test_python_dash_m_gateway_help() -> None:
    result = python_dash_m_gateway("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: medusa-graphql-gateway")
    assert "export-schema" in result.stdout
    assert "serve" in result.stdout
    assert "GATEWAY_MEDUSA_URL" in result.stdout
    assert result.stderr == ""


def test_python_dash_m_gateway_exits_2_on_bad_settings() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**clean_env(), "GATEWAY_PORT": "70000"},
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert "GATEWAY_PORT" in result.stderr
    assert result.stdout == ""


# --- _serve itself (gateway.server.serve replaced; the server itself: tests/floods/) -----------


class UvicornRun(NamedTuple):
    config: Any
    sockets: list[socket.socket]
    addresses: list[object]  # each socket's address while uvicorn had it


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[UvicornRun]:
    """uvicorn.Server.run replaced: records each run and reports a started server."""
    import uvicorn

    runs: list[UvicornRun] = []

    def fake_run(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        sockets = list(sockets or [])
        runs.append(UvicornRun(self.config, sockets, [sock.getsockname() for sock in sockets]))
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return runs


def test_serve_runs_uvicorn_on_a_socket_bound_first(
    monkeypatch: pytest.MonkeyPatch, uvicorn_runs: list[UvicornRun]
) -> None:
    import gateway.app
    import gateway.logging_setup

    built: list[Settings] = []
    app = object()

    def fake_create_app(settings: Settings) -> object:
        # The port is already ours when the app (and its sandbox banner) is built.
        with socket.socket() as probe, pytest.raises(OSError, match="in use"):
            probe.bind(("127.0.0.1", settings.port))
        built.append(settings)
        return app

    monkeypatch.setattr(gateway.app, "create_app", fake_create_app)
    configured: list[Settings] = []
    monkeypatch.setattr(gateway.logging_setup, "configure_logging", configured.append)
    port = free_port()
    settings = Settings(host="127.0.0.1", port=port, log_level="warning", shutdown_grace=7)
    assert cli._serve(settings) == 0
    assert built == [settings]
    assert configured == [settings]  # logging itself: tests/test_logging_setup.py
    ((config, sockets, addresses),) = uvicorn_runs
    assert config.app is app
    assert config.log_level == "warning"
    assert config.proxy_headers is False
    assert config.timeout_graceful_shutdown == 7
    [sock] = sockets
    assert addresses == [("127.0.0.1", port)]
    assert sock.fileno() == -1  # closed once the server is done
    assert config.http is GatewayHttpProtocol  # the deadlines and header limits (test_server)
    assert config.gateway_limits == ServerLimits.from_settings(settings)


def test_serve_reports_a_start_up_failure(
    monkeypatch: pytest.MonkeyPatch, uvicorn_runs: list[UvicornRun]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: None)  # never started
    assert cli._serve(Settings(port=free_port())) == 3


def test_a_busy_port_fails_before_the_app_or_any_banner(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    uvicorn_runs: list[UvicornRun],
) -> None:
    import gateway.app

    built: list[object] = []
    monkeypatch.setattr(gateway.app, "create_app", built.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in err
    assert "--port / GATEWAY_PORT" in err
    assert built == []
    assert uvicorn_runs == []


def test_python_dash_m_gateway_on_a_busy_port_exits_1_before_the_banner() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = python_dash_m_gateway("--port", str(port))
    assert result.returncode == 1
    assert "the port is already in use" in result.stderr
    assert "SANDBOX" not in result.stdout + result.stderr
    assert "startup complete" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("host", "url", "all_interfaces"),
    [
        ("0.0.0.0", "http://127.0.0.1:9555/graphql", True),  # noqa: S104  # the case under test
        ("::", "http://[::1]:9555/graphql", True),
        ("127.0.0.1", "http://127.0.0.1:9555/graphql", False),
        ("::1", "http://[::1]:9555/graphql", False),
    ],
)
def test_the_address_line_gives_a_url_that_works_in_a_browser(
    caplog: pytest.LogCaptureFixture, host: str, url: str, all_interfaces: bool
) -> None:
    with caplog.at_level(logging.INFO, logger="gateway"):
        cli._announce_address(Settings(host=host, port=9555, medusa_url="http://m.internal"))
    (record,) = caplog.records
    assert url in record.getMessage()
    assert ("all interfaces" in record.getMessage()) is all_interfaces
    assert "http://0.0.0.0" not in record.getMessage()


def test_workers_refuse_a_busy_port_before_starting_any(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    runs: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(app))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["--workers", "2", "--port", str(port), "--medusa-url", "http://m.internal"]
        assert cli.main([*argv, "--no-idempotency"]) == 1
    assert "already in use" in capsys.readouterr().err
    assert runs == []


def test_workers_hand_the_settings_to_each_worker_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    import gateway.server

    for name in Settings.model_fields:  # the CLI exports them: restore "unset" afterwards
        monkeypatch.setenv(f"GATEWAY_{name.upper()}", "")
        monkeypatch.delenv(f"GATEWAY_{name.upper()}")
    runs: list[tuple[object, dict[str, Any]]] = []

    def fake_serve(settings: Settings, app: object, **options: Any) -> int:
        runs.append((app, {**options, "settings": settings}))
        return 0

    monkeypatch.setattr(gateway.server, "serve", fake_serve)
    monkeypatch.setenv("GATEWAY_PUBLISHABLE_KEY", "pk_from_env")
    port = free_port()
    argv = ["--workers", "2", "--port", str(port), "--medusa-url", "http://m.internal:9000"]
    argv += ["--cors-origins", "https://a.example,https://b.example", "--no-graphiql"]
    argv += ["--no-idempotency"]  # workers without Redis: only with keys off
    assert cli.main(argv) == 0

    [(app, options)] = runs
    assert app == "gateway.cli:app_from_environment"
    assert options["factory"] is True
    assert (options["settings"].workers, options["settings"].port) == (2, port)
    assert os.environ["GATEWAY_PORT"] == str(port)  # what each worker reads back
    worker = load_settings()
    assert worker.medusa_base_url == "http://m.internal:9000"
    assert worker.cors_origins == ["https://a.example", "https://b.example"]
    assert worker.publishable_key is not None
    assert worker.publishable_key.get_secret_value() == "pk_from_env"
    assert (worker.graphiql, worker.workers) == (False, 2)
    assert cli.app_from_environment().title  # a worker builds its app from that environment


def test_one_worker_serves_the_app_object(
    uvicorn_runs: list[UvicornRun],
) -> None:
    assert cli.main(["--port", str(free_port())]) == 0
    [run] = uvicorn_runs
    config = run.config
    assert not isinstance(config.app, str)


def test_workers_refuse_the_embedded_sandbox(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--workers", "2"]) == 2
    assert "GATEWAY_MEDUSA_URL" in capsys.readouterr().err
    assert served == []


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_bad_trusted_documents_manifest_stops_start_up_naming_the_entry(
    workers: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import hashlib
    import json

    import uvicorn

    runs: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(app))
    bad = "query Broken { nope }"
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({hashlib.sha256(bad.encode()).hexdigest(): bad}))
    argv = ["--workers", workers, "--medusa-url", "http://m.internal:9000", "--no-idempotency"]
    argv += ["--port", str(free_port())]  # the port is bound first: it must be free
    assert cli.main([*argv, "--trusted-documents", str(manifest)]) == 2
    error = capsys.readouterr().err
    assert f"trusted documents manifest {manifest}: entry" in error
    assert "Cannot query field 'nope'" in error
    assert runs == []


def test_workers_with_idempotency_need_redis(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--workers", "2", "--medusa-url", "http://m.internal:9000"]) == 2
    assert "GATEWAY_REDIS_URL" in capsys.readouterr().err
    assert served == []
