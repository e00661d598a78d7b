from __future__ import annotations

import subprocess
import sys

import pytest

from gateway import cli
from gateway.config import Settings
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
