"""LeanAsyncClient: the same wire request as httpx.AsyncClient, without its per-request extras."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from medusa_client.http_client import LeanAsyncClient

PATH = "/store/payment-collections/pay_col_1%2F2/payment-sessions"
FIELDS = {"fields": "amount,currency_code,payment_sessions.data,-payment_providers"}


def recorder(seen: list[httpx.Request], *, set_cookie: bool = False) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"set-cookie": "connect.sid=customer-a; Path=/"} if set_cookie else {}
        return httpx.Response(200, json={"ok": True}, headers=headers)

    return httpx.MockTransport(answer)


def clients(
    seen: list[httpx.Request], *, set_cookie: bool = False
) -> tuple[httpx.AsyncClient, LeanAsyncClient]:
    options = {
        "base_url": "http://medusa.internal:9000/prefix",
        "timeout": httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0),
        "headers": {"accept": "application/json"},
    }
    transport = recorder(seen, set_cookie=set_cookie)
    return (
        httpx.AsyncClient(transport=transport, **options),  # type: ignore[arg-type]
        LeanAsyncClient(transport=transport, **options),  # type: ignore[arg-type]
    )


def wire(request: httpx.Request) -> tuple[object, ...]:
    return (
        request.method,
        str(request.url),
        request.headers.multi_items(),
        request.content,
        request.extensions["timeout"],
    )


def test_the_fast_path_sends_what_httpx_would_send() -> None:
    seen: list[httpx.Request] = []
    plain, lean = clients(seen)

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        async with client:
            return await client.request(
                "POST",
                PATH,
                content=b'{"provider_id":"pp_system_default"}',
                params=FIELDS,
                headers={"x-publishable-api-key": "pk_1", "content-type": "application/json"},
            )

    expected, got = asyncio.run(call(plain)), asyncio.run(call(lean))
    assert wire(seen[1]) == wire(seen[0])
    assert got.json() == expected.json() == {"ok": True}
    assert got.request is seen[1]
    assert str(seen[1].url).startswith("http://medusa.internal:9000/prefix/store/")


def test_a_cookie_medusa_sets_is_never_sent_on_a_later_request() -> None:
    seen: list[httpx.Request] = []
    plain, lean = clients(seen, set_cookie=True)

    async def twice(client: httpx.AsyncClient) -> None:
        async with client:
            await client.get("/store/payment-providers")
            await client.get("/store/payment-providers")

    asyncio.run(twice(plain))
    assert seen[1].headers.get("cookie") == "connect.sid=customer-a"  # httpx's shared jar
    asyncio.run(twice(lean))
    assert "cookie" not in seen[3].headers


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("http://other.internal/health", {}),  # absolute URL
        ("/store/payment-providers", {"params": {"limit": 100}}),  # non-text value
        ("/store/payment-providers", {"params": [("a", "1"), ("a", "2")]}),
        ("/store/payment-providers", {"extensions": {"sni_hostname": "m.internal"}}),
        ("/store/payment-providers", {"timeout": 9.0}),
    ],
)
def test_anything_else_takes_httpx_own_path(url: str, options: dict[str, object]) -> None:
    seen: list[httpx.Request] = []
    plain, lean = clients(seen)

    async def call(client: httpx.AsyncClient) -> None:
        async with client:
            await client.get(url, **options)  # type: ignore[arg-type]

    asyncio.run(call(plain))
    asyncio.run(call(lean))
    assert wire(seen[1]) == wire(seen[0])


def test_streaming_and_closed_clients_behave_like_httpx() -> None:
    seen: list[httpx.Request] = []
    _, lean = clients(seen)

    async def scenario() -> None:
        async with lean:
            request = lean.build_request("GET", "/store/payment-providers")
            response = await lean.send(request, stream=True)
            assert await response.aread() == b'{"ok":true}'
            await response.aclose()
        with pytest.raises(RuntimeError):
            await lean.get("/store/payment-providers")

    asyncio.run(scenario())
    assert len(seen) == 1


def test_a_failed_read_closes_the_response() -> None:
    closed: list[bool] = []

    class BrokenStream(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            if not closed:
                raise httpx.ReadError("connection reset")
            yield b""  # pragma: no cover

        async def aclose(self) -> None:
            closed.append(True)

    class Broken(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, stream=BrokenStream())

    async def scenario() -> None:
        async with LeanAsyncClient(base_url="http://m.internal", transport=Broken()) as lean:
            with pytest.raises(httpx.ReadError):
                await lean.get("/health")

    asyncio.run(scenario())
    assert closed == [True]


def test_a_new_base_url_is_picked_up() -> None:
    seen: list[httpx.Request] = []
    _, lean = clients(seen)
    lean.base_url = httpx.URL("http://elsewhere.internal:9000")

    async def call() -> None:
        async with lean:
            await lean.get("/health")

    asyncio.run(call())
    assert str(seen[0].url) == "http://elsewhere.internal:9000/health"


@pytest.mark.parametrize("base", ["http://m.internal:9000", "https://m.internal/prefix/"])
@pytest.mark.parametrize(
    "path",
    [
        "/store/payment-collections/pay_col_01JF8/payment-sessions",
        "/store/payment-collections/a%2Fb%20c/payment-sessions",
        "/store/payment-collections/a b/é/%zz/payment-sessions",  # parsed by httpx instead
        "/store/x;y=1:@!$&'()*+,~",
    ],
)
@pytest.mark.parametrize(
    "params", [None, {}, {"fields": "amount,-payment_providers,*payment_sessions"}, {"q": "a b&c"}]
)
def test_the_url_is_the_one_httpx_would_build(
    base: str, path: str, params: dict[str, str] | None
) -> None:
    seen: list[httpx.Request] = []
    plain = httpx.AsyncClient(base_url=base, transport=recorder(seen))
    lean = LeanAsyncClient(base_url=base, transport=recorder(seen))
    expected = plain.build_request("GET", path, params=params).url
    got = lean.build_request("GET", path, params=params).url
    assert got == expected
    assert (got.raw_path, got.host, got.port, got.scheme) == (
        expected.raw_path,
        expected.host,
        expected.port,
        expected.scheme,
    )
    assert str(got) == str(expected)
