from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway import cli
from gateway.config import Settings, load_settings
from schema.schema import print_sdl

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


@pytest.mark.parametrize("argv", [["--port", "70000"], ["serve", "--port", "70000"]])
def test_bad_settings_exit_2_with_a_message_naming_the_variable(
    served: list[Settings], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert "GATEWAY_PORT" in err
    assert "70000" not in err
    assert out == ""
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
    assert "GATEWAY_MEDUSA_URL" in err
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


# --- help -------------------------------------------------------------------------------------


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
    result = python_dash_m_gateway("--port", "70000")
    assert result.returncode == 2
    assert "GATEWAY_PORT" in result.stderr
    assert result.stdout == ""


# --- _serve itself (uvicorn replaced) ---------------------------------------------------------


def test_serve_runs_uvicorn_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    import gateway.app
    import gateway.logging_setup

    runs: list[tuple[object, dict[str, Any]]] = []
    built: list[Settings] = []
    app = object()

    def fake_create_app(settings: Settings) -> object:
        built.append(settings)
        return app

    monkeypatch.setattr(gateway.app, "create_app", fake_create_app)
    monkeypatch.setattr(uvicorn, "run", lambda target, **kwargs: runs.append((target, kwargs)))
    configured: list[Settings] = []
    monkeypatch.setattr(gateway.logging_setup, "configure_logging", configured.append)
    settings = Settings(host="::1", port=9400, log_level="warning", shutdown_grace=7)
    assert cli._serve(settings) == 0
    assert built == [settings]
    assert configured == [settings]  # logging itself: tests/test_logging_setup.py
    ((target, kwargs),) = runs
    assert target is app
    assert kwargs["host"] == "::1"
    assert kwargs["port"] == 9400
    assert kwargs["log_level"] == "warning"
    assert kwargs["proxy_headers"] is False
    assert kwargs["timeout_graceful_shutdown"] == 7


def test_workers_hand_the_settings_to_each_worker_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    import uvicorn

    for name in Settings.model_fields:  # the CLI exports them: restore "unset" afterwards
        monkeypatch.setenv(f"GATEWAY_{name.upper()}", "")
        monkeypatch.delenv(f"GATEWAY_{name.upper()}")
    runs: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append((app, options)))
    monkeypatch.setenv("GATEWAY_PUBLISHABLE_KEY", "pk_from_env")
    argv = ["--workers", "2", "--port", "9301", "--medusa-url", "http://m.internal:9000"]
    argv += ["--cors-origins", "https://a.example,https://b.example", "--no-graphiql"]
    argv += ["--no-idempotency"]  # workers without Redis: only with keys off
    assert cli.main(argv) == 0

    [(app, options)] = runs
    assert app == "gateway.cli:app_from_environment"
    assert (options["factory"], options["workers"], options["port"]) == (True, 2, 9301)
    assert os.environ["GATEWAY_PORT"] == "9301"  # what each worker reads back
    worker = load_settings()
    assert worker.medusa_base_url == "http://m.internal:9000"
    assert worker.cors_origins == ["https://a.example", "https://b.example"]
    assert worker.publishable_key is not None
    assert worker.publishable_key.get_secret_value() == "pk_from_env"
    assert (worker.graphiql, worker.workers) == (False, 2)
    assert cli.app_from_environment().title  # a worker builds its app from that environment


def test_one_worker_serves_the_app_object(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    runs: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(app))
    assert cli.main(["--port", "9302"]) == 0
    [app] = runs
    assert not isinstance(app, str)


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
