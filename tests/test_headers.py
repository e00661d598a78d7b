"""What reaches Medusa from the client's headers: one credential of each kind, allow-listed
cookies only, and never a redirect to a host the client named."""

from __future__ import annotations

import pytest

from medusa_client.client import ForwardedHeaders, duplicate_credential
from tests.conftest import FakeMedusa, GatewayFactory, mutation

QUERY = {"query": mutation("paymentCollection { id }")}


@pytest.mark.parametrize("name", ["x-publishable-api-key", "authorization", "Authorization"])
def test_a_credential_header_sent_twice_is_refused_and_nothing_is_sent(
    gateway: GatewayFactory, medusa: FakeMedusa, name: str
) -> None:
    client = gateway()
    answer = client.post("/graphql", json=QUERY, headers=[(name, "first"), (name, "second")])
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert name.lower() in error["message"]
    assert "first" not in answer.text  # never echoed
    assert "second" not in answer.text
    assert medusa.requests == []


def test_one_of_each_credential_is_forwarded(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway()
    answer = client.post(
        "/graphql",
        json=QUERY,
        headers={"x-publishable-api-key": "pk_client", "authorization": "Bearer tok"},
    )
    assert answer.json()["data"]["createPaymentSession"]["paymentCollection"]["id"]
    sent = medusa.last.headers
    assert sent.get_list("x-publishable-api-key") == ["pk_client"]
    assert sent.get_list("authorization") == ["Bearer tok"]


def test_only_allow_listed_cookies_are_forwarded(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    cookie = "_ga=GA1.2.3; connect.sid=s%3Aabc.def; other_app_session=secret; theme=dark"
    client.post("/graphql", json=QUERY, headers={"cookie": cookie})
    assert medusa.last.headers.get_list("cookie") == ["connect.sid=s%3Aabc.def"]


def test_no_cookie_header_is_sent_when_none_is_allowed(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    client.post("/graphql", json=QUERY, headers={"cookie": "_ga=1; other_app_session=x"})
    assert "cookie" not in medusa.last.headers


def test_the_cookie_allow_list_is_a_setting(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway(forward_cookies="_medusa_jwt,connect.sid")
    cookie = "connect.sid=a; x=1; _medusa_jwt=b"
    client.post("/graphql", json=QUERY, headers={"cookie": cookie})
    assert medusa.last.headers.get_list("cookie") == ["connect.sid=a; _medusa_jwt=b"]
    gateway(forward_cookies="").post("/graphql", json=QUERY, headers={"cookie": cookie})
    assert "cookie" not in medusa.last.headers


def test_split_cookie_headers_are_joined_after_filtering() -> None:
    raw = [(b"cookie", b"a=1; connect.sid=x"), (b"cookie", b"connect.sid=y;b=2")]
    forwarded = ForwardedHeaders.from_raw(raw)
    assert forwarded.items == ((b"cookie", b"connect.sid=x; connect.sid=y"),)


def test_duplicate_credential_names_the_header() -> None:
    assert duplicate_credential([(b"authorization", b"a"), (b"cookie", b"b")]) is None
    assert duplicate_credential([(b"cookie", b"a"), (b"cookie", b"b")]) is None
    twice = [(b"x-publishable-api-key", b"a"), (b"x-publishable-api-key", b"b")]
    assert duplicate_credential(twice) == "x-publishable-api-key"


@pytest.mark.parametrize("path", ["/graphql/", "/healthz/", "/readyz/", "/graphql//"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_redirect_points_at_the_host_the_client_names(
    gateway: GatewayFactory, path: str, method: str
) -> None:
    client = gateway()
    answer = client.request(method, path, headers={"host": "evil.example"}, follow_redirects=False)
    assert not answer.is_redirect
    assert "location" not in answer.headers
    assert "evil.example" not in answer.text
