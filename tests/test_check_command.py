"""`python -m gateway check` (issue 17.2): the configured backend and key, in plain words."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from gateway.check_command import run_check
from gateway.cli import main
from gateway.config import Settings
from gateway.sandbox_wiring import start_sandbox
from medusa_client.profiles import profile_named


def _check(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> tuple[int, str]:
    out = io.StringIO()
    code = run_check(settings, transport=transport, out=out)
    return code, out.getvalue()


def test_the_sandbox_passes_every_check() -> None:
    code, report = _check(Settings())
    assert code == 0
    for name in ("reachable", "Medusa API", "publishable key", "regions", "payment providers"):
        assert f"ok    {name}:" in report
    assert "pp_system_default" in report
    assert "All checks passed" in report


def test_the_cli_runs_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GATEWAY_MEDUSA_URL", raising=False)
    assert main(["check"]) == 0
    assert "All checks passed" in capsys.readouterr().out


def test_a_refused_key_fails_and_says_where_keys_come_from() -> None:
    sandbox = start_sandbox(profile_named("medusa-2.21"))
    settings = Settings(medusa_url="http://medusa.test", publishable_key="pk_wrong")
    code, report = _check(settings, sandbox.transport)
    assert code == 1
    assert "FAIL  publishable key" in report
    assert "Publishable API Keys" in report
    assert "pk_wrong" not in report
    assert "regions" not in report  # pointless without a key Medusa accepts


def test_no_key_is_reported_as_skipped_not_failed() -> None:
    sandbox = start_sandbox(profile_named("medusa-2.21"))
    code, report = _check(Settings(medusa_url="http://medusa.test"), sandbox.transport)
    assert code == 0
    assert "skip  publishable key: GATEWAY_PUBLISHABLE_KEY is unset" in report


@contextmanager
def _server(health: int) -> Iterator[str]:
    """A real HTTP server that is not Medusa: `health` on /health, 404 HTML elsewhere."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            status = health if self.path == "/health" else 404
            page = b"<html>not medusa</html>"
            self.send_response(status)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("health", "failed"), [(404, "reachable"), (200, "Medusa API")])
def test_a_server_that_is_not_medusa_fails_and_names_the_url_setting(
    health: int, failed: str
) -> None:
    with _server(health) as url:
        code, report = _check(Settings(medusa_url=url, publishable_key="pk_x"))
    assert code == 1
    assert f"FAIL  {failed}:" in report
    assert "GATEWAY_MEDUSA_URL" in report


def test_an_unreachable_backend_fails() -> None:
    from tests.serving import free_port

    settings = Settings(medusa_url=f"http://127.0.0.1:{free_port()}", publishable_key="pk_x")
    code, report = _check(settings)
    assert code == 1
    assert "FAIL  reachable: cannot connect" in report
