from __future__ import annotations

import subprocess
import sys

import pytest

from gateway import cli
from gateway.config import Settings, load_settings
from schema.schema import print_sdl


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("GATEWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    calls: list[Settings] = []

    def fake_serve(settings: Settings) -> int:
        calls.append(settings)
        return 0

    monkeypatch.setattr(cli, "_serve", fake_serve)
    return calls


def test_export_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export-schema"]) == 0
    assert capsys.readouterr().out == print_sdl()


def test_serve_is_the_default_and_flags_become_settings(served: list[Settings]) -> None:
    assert cli.main(["--port", "9300", "--debug", "--backend-profile", "open"]) == 0
    assert cli.main(["serve", "--medusa-url", "http://m.internal:9000", "--no-graphiql"]) == 0
    first, second = served
    assert (first.port, first.debug, first.backend_profile) == (9300, True, "open")
    assert second.medusa_base_url == "http://m.internal:9000"
    assert second.graphiql is False


def test_bad_settings_exit_2_with_a_message(
    served: list[Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--port", "70000"]) == 2
    assert "GATEWAY_PORT" in capsys.readouterr().err
    assert served == []


def test_python_dash_m_gateway_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "export-schema" in result.stdout
    assert "GATEWAY_MEDUSA_URL" in result.stdout


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
