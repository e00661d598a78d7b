"""Fail closed (issue 12.1): production never runs the sandbox, typos are named, start-up says
which backend, profile, mode and features are in use."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.cli import main
from gateway.config import SettingsError, load_settings, unknown_variables
from gateway.startup import backend_origin, warn_unknown_variables


def _clear_gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_"):
            monkeypatch.delenv(name)


def test_production_without_a_backend_url_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clear_gateway_env(monkeypatch)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "GATEWAY_MEDUSA_URL" in str(caught.value)
    assert "sandbox" in str(caught.value)


def test_production_with_a_misspelled_url_variable_exits_non_zero_and_names_it() -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "GATEWAY_ENV": "production",
        "GATEWAY_MEDUSAURL": "http://medusa.internal:9000/?token=s3cr3t",
        "GATEWAY_PORT": "1",  # never reached: it must refuse before binding
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "GATEWAY_MEDUSA_URL" in done.stderr
    assert "GATEWAY_MEDUSAURL: unknown setting, ignored; did you mean GATEWAY_MEDUSA_URL?" in (
        done.stderr
    )
    assert "s3cr3t" not in done.stderr + done.stdout


def test_the_cli_returns_2_for_production_without_a_backend(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _clear_gateway_env(monkeypatch)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    assert main([]) == 2
    assert "GATEWAY_MEDUSA_URL" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "::", "gateway.example"])  # noqa: S104
def test_the_sandbox_refuses_a_public_host_unless_meant(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(host=host)
    assert "GATEWAY_SANDBOX_PUBLIC" in str(caught.value)
    assert load_settings(host=host, sandbox_public=True).uses_sandbox
    assert not load_settings(host=host, medusa_url="http://medusa.internal").uses_sandbox


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_the_sandbox_listens_on_loopback_by_default(host: str) -> None:
    assert load_settings(host=host).uses_sandbox


def test_an_unknown_variable_is_named_with_the_closest_setting_never_its_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {
        "GATEWAY_MEDUSAURL": "http://user:s3cr3t@medusa.internal",
        "GATEWAY_PORT": "8000",
        "GATEWAY_ZZZZZZZZ": "x",
        "OTHER": "y",
    }
    assert unknown_variables(environ) == [
        ("GATEWAY_MEDUSAURL", "GATEWAY_MEDUSA_URL"),
        ("GATEWAY_ZZZZZZZZ", None),
    ]
    with caplog.at_level(logging.WARNING, logger="gateway.startup"):
        warn_unknown_variables(environ)
    assert "GATEWAY_MEDUSAURL" in caplog.text
    assert "did you mean GATEWAY_MEDUSA_URL?" in caplog.text
    assert "s3cr3t" not in caplog.text
    assert all(record.levelno == logging.WARNING for record in caplog.records)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://medusa.internal:9000", "http://medusa.internal:9000"),
        ("https://shop.example/medusa/t0k3n", "https://shop.example:443"),
        ("http://[::1]:9000/x", "http://[::1]:9000"),
        (None, "embedded sandbox"),
    ],
)
def test_the_backend_origin_never_shows_a_path(url: str | None, origin: str) -> None:
    assert backend_origin(url) == origin


def test_the_start_up_log_names_backend_profile_mode_and_features(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import httpx

    settings = load_settings(
        env="production",
        medusa_url="https://medusa.internal:9443/base/s3cr3t-path",
        publishable_key="pk_s3cr3t",
        cors_origins="https://shop.example",
    )
    app = create_app(settings, transport=httpx.MockTransport(lambda _: httpx.Response(200)))
    with caplog.at_level(logging.INFO), TestClient(app):
        pass
    line = next(r.getMessage() for r in caplog.records if r.name == "gateway.startup")
    assert "https://medusa.internal:9443" in line
    assert "medusa-2.21" in line
    assert "production" in line
    assert "metrics" in line
    assert "graphiql" not in line
    assert "cors(1 origin(s))" in line
    assert "idempotency(memory)" in line
    assert "s3cr3t" not in caplog.text


def test_the_sandbox_says_it_is_development_only_and_prints_the_demo_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(load_settings())
    with caplog.at_level(logging.INFO), TestClient(app):
        pass
    assert "EMBEDDED SANDBOX" in caplog.text
    assert "Development mode only" in caplog.text
    assert "pk_sandbox_" in caplog.text
    assert "embedded sandbox" in caplog.text  # the start-up line's backend
