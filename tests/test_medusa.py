from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.errors import (
    BackendConnectionLost,
    BackendProtocolError,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    GatewayError,
    PublishableKeyRequired,
    RequestError,
)
from gateway.medusa import ForwardedHeaders, MedusaClient, UpstreamCall

Handler = Callable[[httpx.Request], httpx.Response]


def call(
    handler: Handler,
    collection_id: str = "pay_col_01ABC",
    *,
    provider: str = "pp_system_default",
    data: object = None,
    headers: ForwardedHeaders | None = None,
    default_key: str | None = "pk_default",
    trace: list[UpstreamCall] | None = None,
) -> tuple[dict[str, Any], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async def main() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(record), base_url="http://m"
        ) as http:
            client = MedusaClient(http, default_key=default_key)
            return await client.create_payment_session(
                collection_id,
                provider_id=provider,
                data=data,
                fields=None,
                headers=headers or ForwardedHeaders(()),
                trace=trace,
            )

    try:
        return asyncio.run(main()), seen
    except GatewayError as error:
        error.__notes__ = [f"requests sent: {len(seen)}"]
        error.sent = seen  # type: ignore[attr-defined]
        raise


def answer(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"payment_collection": {"id": "pay_col_01ABC"}})


@pytest.mark.parametrize("bad_id", ["../admin", "a/b", "", "x" * 129, "pay col", "p?x=1"])
def test_unsafe_collection_ids_are_refused_before_sending(bad_id: str) -> None:
    with pytest.raises(RequestError) as caught:
        call(answer, bad_id)
    assert caught.value.sent == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("provider", "data"), [("", None), ("p" * 257, None), ("pp", [1, 2]), ("pp", "x")]
)
def test_bad_provider_or_data_is_refused_before_sending(provider: str, data: object) -> None:
    with pytest.raises(RequestError) as caught:
        call(answer, provider=provider, data=data)
    assert caught.value.sent == []  # type: ignore[attr-defined]


def test_the_body_and_default_key() -> None:
    result, sent = call(answer, data={"a": 1})
    assert result == {"id": "pay_col_01ABC"}
    assert sent[0].read() == b'{"provider_id":"pp_system_default","data":{"a":1}}'
    assert sent[0].headers["x-publishable-api-key"] == "pk_default"
    assert "fields" not in sent[0].url.params


def test_the_clients_key_wins_and_no_key_sends_nothing() -> None:
    headers = ForwardedHeaders.from_raw(
        [(b"x-publishable-api-key", b"pk_client"), (b"host", b"evil")]
    )
    _, sent = call(answer, headers=headers)
    assert sent[0].headers["x-publishable-api-key"] == "pk_client"
    assert sent[0].headers["host"] == "m"
    with pytest.raises(PublishableKeyRequired) as caught:
        call(answer, default_key=None)
    assert caught.value.sent == []  # type: ignore[attr-defined]


def test_forwarded_headers_never_print_values() -> None:
    headers = ForwardedHeaders.from_raw(
        [(b"authorization", b"Bearer secret-token"), (b"cookie", b"")]
    )
    assert "secret-token" not in repr(headers)
    assert repr(headers) == "ForwardedHeaders(['authorization'])"  # empty cookie dropped


@pytest.mark.parametrize(
    ("respond", "error", "code"),
    [
        (lambda r: httpx.Response(200, text="<html>"), BackendProtocolError, "BACKEND_ERROR"),
        (lambda r: httpx.Response(200, json={"x": 1}), BackendProtocolError, "BACKEND_ERROR"),
        (
            lambda r: httpx.Response(502, text="<html>bad gateway</html>"),
            BackendRejected,
            "BACKEND_ERROR",
        ),
        (
            lambda r: httpx.Response(404, json={"type": "not_found", "message": "nope"}),
            BackendRejected,
            "NOT_FOUND",
        ),
    ],
)
def test_odd_answers(respond: Handler, error: type[GatewayError], code: str) -> None:
    with pytest.raises(error) as caught:
        call(respond)
    assert caught.value.code == code
    assert len(caught.value.sent) == 1  # type: ignore[attr-defined]


def raiser(exception: type[httpx.HTTPError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception("boom", request=request)  # type: ignore[call-arg]

    return handler


@pytest.mark.parametrize(
    ("exception", "error", "retryable"),
    [
        (httpx.ConnectError, BackendUnavailable, True),
        (httpx.ConnectTimeout, BackendUnavailable, True),
        (httpx.PoolTimeout, BackendUnavailable, True),
        (httpx.ReadTimeout, BackendTimeout, False),
        (httpx.WriteTimeout, BackendTimeout, False),
        (httpx.ReadError, BackendConnectionLost, False),
        (httpx.RemoteProtocolError, BackendConnectionLost, False),
        (httpx.LocalProtocolError, BackendUnavailable, True),
    ],
)
def test_transport_failures_are_translated_and_never_retried(
    exception: type[httpx.HTTPError], error: type[GatewayError], retryable: bool
) -> None:
    trace: list[UpstreamCall] = []
    with pytest.raises(error) as caught:
        call(raiser(exception), trace=trace)
    assert caught.value.retryable is retryable
    assert len(caught.value.sent) == 1  # type: ignore[attr-defined]
    (recorded,) = trace
    assert recorded.status is None
    assert recorded.method == "POST"
    assert recorded.ms >= 0


def test_health() -> None:
    async def check(handler: Handler) -> bool:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(handler), base_url="http://m"
        ) as http:
            return await MedusaClient(http, default_key=None).health()

    assert asyncio.run(check(lambda r: httpx.Response(200, text="OK"))) is True
    assert asyncio.run(check(lambda r: httpx.Response(503))) is False
    assert asyncio.run(check(raiser(httpx.ConnectError))) is False
