"""How the gateway reaches Medusa: TLS settings (private CA, mutual TLS), proxies refused at
start-up, and the response cap, each through `create_app` against a real socket backend."""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings, SettingsError
from sandbox.emulator import SandboxState, create_sandbox_app
from tests.serving import free_port, serving
from tests.test_http_conformance import PKI, pki  # noqa: F401  # the fixture, shared

QUERY = {"query": "{ gateway { backendProfile } }"}
PROVIDERS = "query($r: ID!) { paymentProviders(regionId: $r) { id } }"


@pytest.fixture
def mtls_backend(pki: PKI) -> Iterator[tuple[int, SandboxState]]:  # noqa: F811  # the fixture
    state = SandboxState.seeded()
    port = free_port()
    with serving(
        create_sandbox_app(state, allowed=None),
        port,
        ssl_certfile=str(pki.server_cert),
        ssl_keyfile=str(pki.server_key),
        ssl_ca_certs=str(pki.ca),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
    ):
        yield port, state


def providers(client: TestClient, state: SandboxState) -> dict[str, object]:
    variables = {"r": state.region_id}
    body: dict[str, object] = client.post(
        "/graphql", json={"query": PROVIDERS, "variables": variables}
    ).json()
    return body


def behind_private_ca(
    pki: PKI,  # noqa: F811  # the fixture's value
    backend: tuple[int, SandboxState],
    **client_tls: Path,
) -> Settings:
    """Settings for the loopback Medusa whose certificate the test CA signed."""
    port, state = backend
    return Settings(
        medusa_url=f"https://localhost:{port}",
        publishable_key=state.publishable_key,
        ca_bundle=pki.ca,
        **client_tls,  # type: ignore[arg-type]  # client_cert / client_key
    )


def test_a_backend_behind_a_private_ca_with_mutual_tls(
    pki: PKI,  # noqa: F811  # the fixture
    mtls_backend: tuple[int, SandboxState],
) -> None:
    settings = behind_private_ca(
        pki, mtls_backend, client_cert=pki.client_cert, client_key=pki.client_key
    )
    state = mtls_backend[1]
    with TestClient(create_app(settings)) as client:
        assert providers(client, state) == {
            "data": {"paymentProviders": [{"id": "pp_system_default"}]}
        }
        assert client.get("/readyz").status_code == 200


def test_without_the_client_certificate_nothing_is_served(
    pki: PKI,  # noqa: F811  # the fixture
    mtls_backend: tuple[int, SandboxState],
) -> None:
    settings = behind_private_ca(pki, mtls_backend)
    state = mtls_backend[1]
    with TestClient(create_app(settings)) as client:
        body = providers(client, state)
        errors = body["errors"]
        assert isinstance(errors, list)
        assert errors[0]["extensions"]["code"].startswith("BACKEND_")
        assert client.get("/readyz").status_code == 503


def test_unreadable_tls_files_stop_the_start_up(tmp_path: Path) -> None:
    settings = Settings(medusa_url="https://medusa.internal", ca_bundle=tmp_path / "nope.pem")
    with pytest.raises(SettingsError, match="GATEWAY_CA_BUNDLE"):
        create_app(settings)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_a_proxy_variable_stops_the_start_up_with_a_message(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://user:secret@proxy.internal:3128")
    with pytest.raises(SettingsError) as refused:
        create_app(Settings(medusa_url="https://medusa.internal"))
    message = str(refused.value)
    assert variable in message
    assert "NO_PROXY" in message
    assert "secret" not in message  # never the value: it may hold credentials


def test_a_proxy_variable_for_the_other_scheme_or_bypassed_is_fine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    create_app(Settings(medusa_url="https://medusa.internal"))  # an https backend: unused
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal")
    create_app(Settings(medusa_url="https://medusa.internal"))


def test_the_sandbox_ignores_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    create_app(Settings())  # nothing leaves the process


def test_an_answer_over_the_response_cap_is_a_backend_error_not_an_unknown_outcome() -> None:
    state = SandboxState.seeded()
    # A region listing many providers: an answer of ~25 KB from the real socket backend.
    state.region_providers = tuple(f"pp_provider_{i:05d}_{'x' * 220}" for i in range(99))
    port = free_port()
    with serving(create_sandbox_app(state, allowed=None), port) as url:
        small = Settings(
            medusa_url=url, publishable_key=state.publishable_key, max_response_bytes=10_000
        )
        with TestClient(create_app(small)) as client:
            body = providers(client, state)
            errors = body["errors"]
            assert isinstance(errors, list)
            assert errors[0]["extensions"]["code"] == "BACKEND_ERROR"
            assert "too large" in errors[0]["message"]
        roomy = Settings(medusa_url=url, publishable_key=state.publishable_key)
        with TestClient(create_app(roomy)) as client:
            assert "errors" not in providers(client, state)


def test_the_check_command_uses_the_same_tls_settings(
    pki: PKI,  # noqa: F811  # the fixture
    mtls_backend: tuple[int, SandboxState],
    tmp_path: Path,
) -> None:
    from gateway.check_command import run_check

    port, state = mtls_backend
    settings = Settings(
        medusa_url=f"https://localhost:{port}",
        publishable_key=state.publishable_key,
        ca_bundle=pki.ca,
        client_cert=pki.client_cert,
        client_key=pki.client_key,
    )
    out = io.StringIO()
    assert run_check(settings, out=out) == 0, out.getvalue()
    broken = settings.model_copy(update={"ca_bundle": tmp_path / "missing.pem"})
    out = io.StringIO()
    assert run_check(broken, out=out) == 1
    assert "GATEWAY_CA_BUNDLE" in out.getvalue()
