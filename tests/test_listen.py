"""gateway.listen: the socket bound before start-up, and URLs a person can open."""

from __future__ import annotations

import logging
import socket

import pytest
from fastapi.testclient import TestClient

from gateway import listen
from gateway.app import create_app
from gateway.config import Settings


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8000/graphql"),  # noqa: S104  # the case under test
        ("::", "http://[::1]:8000/graphql"),
        ("[::]", "http://[::1]:8000/graphql"),
        ("127.0.0.1", "http://127.0.0.1:8000/graphql"),
        ("::1", "http://[::1]:8000/graphql"),
        ("gateway.internal", "http://gateway.internal:8000/graphql"),
    ],
)
def test_browsable_url_never_points_at_a_wildcard(host: str, url: str) -> None:
    assert listen.browsable_url(host, 8000, "/graphql") == url


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", True), ("::", True), ("127.0.0.1", False), ("10.1.2.3", False)],  # noqa: S104
)
def test_wildcard(host: str, expected: bool) -> None:
    assert listen.wildcard(host) is expected


def test_bind_returns_a_bound_socket_that_is_not_yet_listening() -> None:
    sock = listen.bind("127.0.0.1", 0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1"
        assert port > 0
        with socket.socket() as client, pytest.raises(ConnectionRefusedError):
            client.connect(("127.0.0.1", port))  # bound, so held; not accepting yet
    finally:
        sock.close()


def test_bind_on_a_busy_port_says_so_and_names_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(listen.PortUnavailableError) as caught:
            listen.bind("127.0.0.1", port)
    message = str(caught.value)
    assert message.startswith(f"cannot listen on 127.0.0.1:{port}: the port is already in use")
    assert "--port / GATEWAY_PORT" in message


def test_bind_on_an_address_this_machine_lacks_names_the_host_setting() -> None:
    with pytest.raises(listen.PortUnavailableError) as caught:
        listen.bind("192.0.2.1", 0)  # TEST-NET-1: never a local address
    assert "no such address on this machine" in str(caught.value)
    assert "--host / GATEWAY_HOST" in str(caught.value)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:9555/graphql  (listening on all interfaces, 0.0.0.0)"),  # noqa: S104
        ("127.0.0.1", "http://127.0.0.1:9555/graphql"),
    ],
)
def test_the_sandbox_banner_shows_a_usable_url(
    caplog: pytest.LogCaptureFixture, host: str, url: str
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="gateway.sandbox"),
        TestClient(create_app(Settings(host=host, port=9555, sandbox_public=True))),
    ):
        pass
    banner = [
        record.getMessage() for record in caplog.records if "GraphiQL:" in record.getMessage()
    ]
    assert banner == [f"  GraphiQL:             {url}"]
