"""gateway.healthcheck (the image's HEALTHCHECK): real servers on loopback, real sockets."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import cli, healthcheck
from gateway.app import create_app
from gateway.config import Settings
from tests.serving import free_port, serving

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def gateway_port() -> Iterator[int]:
    """The real gateway (embedded sandbox) served on a loopback port."""
    port = free_port()
    with serving(create_app(Settings(port=port)), port):
        yield port


def test_healthy_on_the_port_named_by_gateway_port(
    gateway_port: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", str(gateway_port))
    assert healthcheck.run(None, None, timeout=5) == 0
    assert capsys.readouterr().err == ""


def test_a_wildcard_gateway_host_is_checked_on_loopback(
    gateway_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_HOST", "0.0.0.0")  # noqa: S104  # as the image sets it
    monkeypatch.setenv("GATEWAY_PORT", str(gateway_port))
    assert healthcheck.run(None, None, timeout=5) == 0


def test_unhealthy_where_nothing_listens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    monkeypatch.setenv("GATEWAY_PORT", str(port))
    assert healthcheck.run(None, None, timeout=5) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"unhealthy: GET /healthz on port {port}:")


def test_flags_win_over_the_environment(gateway_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PORT", str(free_port()))  # nothing there
    assert healthcheck.main(["--port", str(gateway_port)]) == 0
    assert cli.main(["healthcheck", "--port", str(gateway_port)]) == 0


def test_a_non_200_answer_is_unhealthy(capsys: pytest.CaptureFixture[str]) -> None:
    async def failing(_: Request) -> Response:
        return JSONResponse({"status": "broken"}, status_code=500)

    port = free_port()
    with serving(Starlette(routes=[Route("/healthz", failing)]), port):
        assert healthcheck.run("127.0.0.1", str(port), timeout=5) == 1
    assert "answered HTTP 500" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1"])
def test_a_bad_gateway_port_is_unhealthy_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", value)
    assert healthcheck.run(None, None, timeout=1) == 1
    assert "is not a TCP port (GATEWAY_PORT)" in capsys.readouterr().err


def test_the_module_as_the_image_runs_it(gateway_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    result = subprocess.run(  # our interpreter, our module
        [sys.executable, "-m", "gateway.healthcheck"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**env, "GATEWAY_PORT": str(gateway_port), "GATEWAY_HOST": "0.0.0.0"},  # noqa: S104
        cwd=ROOT,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_the_module_imports_nothing_heavy() -> None:
    # A probe every 10 s: it must not pay for pydantic, FastAPI or the schema.
    code = (
        "import sys, gateway.healthcheck; "
        "heavy = [m for m in ('pydantic', 'fastapi', 'strawberry', 'httpx') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(  # noqa: S603  # our interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"
