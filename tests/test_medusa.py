from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from medusa_client.client import FORWARDED_HEADERS, ForwardedHeaders, MedusaClient, UpstreamCall
from medusa_client.errors import (
    BackendConnectionLost,
    BackendProtocolError,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    GatewayError,
    PublishableKeyRequired,
    RequestError,
)
from tests.conftest import Responder, raising

COLLECTION_ID = "pay_col_01ABC"
PATH = f"/store/payment-collections/{COLLECTION_ID}/payment-sessions"
# The shape of recordings/a_default.json, trimmed.
COLLECTION: dict[str, Any] = {
    "id": COLLECTION_ID,
    "currency_code": "eur",
    "amount": 50,
    "payment_sessions": [
        {
            "id": "payses_01",
            "amount": 50,
            "currency_code": "eur",
            "provider_id": "pp_system_default",
            "status": "pending",
            "data": {},
        }
    ],
}


def ok(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"payment_collection": COLLECTION})


@dataclass
class Backend:
    """A fake Medusa that records every request it receives."""

    respond: Responder = ok
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def only(self) -> httpx.Request:
        (request,) = self.requests
        return request


def create(
    backend: Backend,
    collection_id: str = COLLECTION_ID,
    *,
    provider_id: str = "pp_system_default",
    data: object = None,
    fields: str | None = None,
    headers: ForwardedHeaders | None = None,
    default_key: str | None = "pk_default",
    trace: list[UpstreamCall] | None = None,
    base_url: str = "http://medusa.test",
) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        transport = httpx.MockTransport(backend.handler)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            client = MedusaClient(http, default_key=default_key)
            return await client.create_payment_session(
                collection_id,
                provider_id=provider_id,
                data=data,
                fields=fields,
                headers=ForwardedHeaders(()) if headers is None else headers,
                trace=trace,
            )

    return asyncio.run(run())


def providers(
    backend: Backend,
    region_id: str = "reg_01",
    *,
    trace: list[UpstreamCall] | None = None,
) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        transport = httpx.MockTransport(backend.handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://medusa.test") as http:
            client = MedusaClient(http, default_key="pk_default")
            return await client.list_payment_providers(
                region_id, fields="id,is_enabled", headers=ForwardedHeaders(()), trace=trace
            )

    return asyncio.run(run())


def body_of(request: httpx.Request) -> object:
    return json.loads(request.content)


def status(code: int, body: object = None, **kwargs: Any) -> Responder:
    def respond(_: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(code, **kwargs)
        return httpx.Response(code, json=body, **kwargs)

    return respond


# --- the request that goes out ----------------------------------------------------------------


def test_the_call_posts_to_the_payment_sessions_route_of_the_collection() -> None:
    backend = Backend()
    result = create(backend)
    request = backend.only
    assert request.method == "POST"
    assert request.url.host == "medusa.test"
    assert request.url.path == "/store/payment-collections/pay_col_01ABC/payment-sessions"
    assert result == COLLECTION


def test_a_base_url_with_a_path_prefix_is_kept() -> None:
    backend = Backend()
    create(backend, base_url="http://medusa.test/shop")
    assert backend.only.url.path == "/shop/store/payment-collections/pay_col_01ABC/payment-sessions"


@pytest.mark.parametrize(
    "collection_id", ["pay_col_01ABC", "a", "x" * 128, "pay-col-01", "PAY_COL_01abc_-9"]
)
def test_safe_collection_ids_are_sent_verbatim(collection_id: str) -> None:
    backend = Backend()
    create(backend, collection_id)
    assert backend.only.url.path == f"/store/payment-collections/{collection_id}/payment-sessions"


@pytest.mark.parametrize(
    "collection_id",
    [
        "../admin",
        "a/b",
        "",
        "x" * 129,
        "..",
        "pay col",
        "pay_col?x=1",
        "pay_col#x",
        "pay%2Fcol",
        "pay.col",
        "pay_col\n",
        "pay_col\x00",
        "pay_c\u00f6l",
        "pay_col_\uff11",
    ],
)
def test_unsafe_collection_ids_are_refused_without_a_request(collection_id: str) -> None:
    backend = Backend()
    trace: list[UpstreamCall] = []
    with pytest.raises(RequestError) as caught:
        create(backend, collection_id, trace=trace)
    assert caught.value.code == "BAD_USER_INPUT"
    assert "paymentCollectionId" in caught.value.message
    assert backend.requests == []
    assert trace == []


@pytest.mark.parametrize("provider_id", ["", "p" * 257])
def test_empty_or_too_long_provider_ids_are_refused_without_a_request(provider_id: str) -> None:
    backend = Backend()
    with pytest.raises(RequestError) as caught:
        create(backend, provider_id=provider_id)
    assert caught.value.code == "BAD_USER_INPUT"
    assert "providerId" in caught.value.message
    assert backend.requests == []


@pytest.mark.parametrize("provider_id", ["p" * 256, "pp_stripe_stripe", "pp with spaces/and?x"])
def test_any_other_provider_id_goes_into_the_body_unchanged(provider_id: str) -> None:
    backend = Backend()
    create(backend, provider_id=provider_id)
    assert body_of(backend.only) == {"provider_id": provider_id}


@pytest.mark.parametrize("data", [[1, 2], "x", 1, 1.5, True, ("a",)])
def test_data_that_is_not_an_object_is_refused_without_a_request(data: object) -> None:
    backend = Backend()
    with pytest.raises(RequestError) as caught:
        create(backend, data=data)
    assert caught.value.code == "BAD_USER_INPUT"
    assert backend.requests == []


def test_the_body_without_data_is_only_the_provider() -> None:
    backend = Backend()
    create(backend)
    assert backend.only.content == b'{"provider_id":"pp_system_default"}'


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"attempt": 3},
        {"nested": {"list": [1, "two", None], "flag": False}},
        {"\u00e9": "\u20ac"},
    ],
)
def test_the_body_is_exactly_provider_id_and_data(data: dict[str, Any]) -> None:
    backend = Backend()
    create(backend, data=data)
    assert body_of(backend.only) == {"provider_id": "pp_system_default", "data": data}


def test_data_deeper_than_orjson_allows_is_still_forwarded() -> None:
    data: dict[str, Any] = {}
    inner = data
    for _ in range(300):
        inner["d"] = {}
        inner = inner["d"]
    backend = Backend()
    create(backend, data=data)
    assert body_of(backend.only) == {"provider_id": "pp_system_default", "data": data}


def test_absurdly_nested_data_is_refused_without_a_request() -> None:
    data: dict[str, Any] = {}
    inner = data
    for _ in range(100_000):
        inner["d"] = {}
        inner = inner["d"]
    backend = Backend()
    with pytest.raises(RequestError) as caught:
        create(backend, data=data)
    assert "nested too deeply" in caught.value.message
    assert backend.requests == []


def test_the_body_is_sent_as_json() -> None:
    backend = Backend()
    create(backend, data={"a": 1})
    request = backend.only
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-length"] == str(len(request.content))


def test_no_fields_means_no_query_string() -> None:
    backend = Backend()
    create(backend, fields=None)
    assert "fields" not in backend.only.url.params
    assert backend.only.url.query == b""


def test_empty_fields_are_sent_as_an_empty_parameter() -> None:
    # `fields=` makes Medusa answer only `{id}` (recordings/c_fields_empty).
    backend = Backend()
    create(backend, fields="")
    assert backend.only.url.query == b"fields="
    assert backend.only.url.params.get_list("fields") == [""]


@pytest.mark.parametrize(
    "fields",
    [
        "id,amount,payment_sessions.id,payment_sessions.status",
        "+status,-amount",
        "*payment_sessions",
    ],
)
def test_fields_are_sent_once_and_survive_url_encoding(fields: str) -> None:
    backend = Backend()
    create(backend, fields=fields)
    assert backend.only.url.params.get_list("fields") == [fields]
    assert list(backend.only.url.params) == ["fields"]


def test_a_plus_prefix_is_percent_encoded_not_sent_as_a_space() -> None:
    backend = Backend()
    create(backend, fields="+status")
    assert backend.only.url.query == b"fields=%2Bstatus"


# --- headers ----------------------------------------------------------------------------------


INCOMING: list[tuple[bytes, bytes]] = [
    (b"host", b"gateway.example"),
    (b"x-publishable-api-key", b"pk_client"),
    (b"authorization", b"Bearer customer.jwt.token"),
    (b"cookie", b"connect.sid=s%3Aabc"),
    (b"x-medusa-locale", b"fr-FR"),
    (b"x-forwarded-for", b"203.0.113.9"),
    (b"content-length", b"999"),
    (b"content-type", b"text/plain"),
    (b"accept", b"text/html"),
    (b"x-other", b"nope"),
    (b"user-agent", b"curl/8"),
]


def test_only_the_allow_listed_headers_are_kept() -> None:
    headers = ForwardedHeaders.from_raw(INCOMING)
    assert headers.items == (
        (b"x-publishable-api-key", b"pk_client"),
        (b"authorization", b"Bearer customer.jwt.token"),
        (b"cookie", b"connect.sid=s%3Aabc"),
        (b"x-medusa-locale", b"fr-FR"),
    )
    assert {
        b"x-publishable-api-key",
        b"authorization",
        b"cookie",
        b"x-medusa-locale",
    } == FORWARDED_HEADERS


def test_only_the_allow_listed_headers_reach_medusa() -> None:
    backend = Backend()
    create(backend, headers=ForwardedHeaders.from_raw(INCOMING), data={"a": 1})
    sent = backend.only.headers
    assert sent["x-publishable-api-key"] == "pk_client"
    assert sent["authorization"] == "Bearer customer.jwt.token"
    assert sent["cookie"] == "connect.sid=s%3Aabc"
    assert sent["x-medusa-locale"] == "fr-FR"
    assert "x-forwarded-for" not in sent
    assert "x-other" not in sent
    assert sent.get_list("host") == ["medusa.test"]
    assert sent.get_list("content-length") == [str(len(backend.only.content))]
    assert sent.get_list("content-type") == ["application/json"]
    assert sent.get_list("accept") == ["application/json"]
    assert "curl" not in sent.get("user-agent", "")
    assert b"gateway.example" not in b"".join(v for _, v in sent.raw)
    assert b"203.0.113.9" not in b"".join(v for _, v in sent.raw)


def test_blank_header_values_are_dropped() -> None:
    headers = ForwardedHeaders.from_raw([(b"authorization", b"  "), (b"cookie", b"")])
    assert headers.items == ()
    assert headers.has_key() is False


def test_the_clients_own_key_wins_over_the_default_key() -> None:
    backend = Backend()
    headers = ForwardedHeaders.from_raw([(b"x-publishable-api-key", b"pk_client")])
    create(backend, headers=headers, default_key="pk_default")
    assert backend.only.headers.get_list("x-publishable-api-key") == ["pk_client"]


def test_the_default_key_is_used_when_the_client_sends_none() -> None:
    backend = Backend()
    headers = ForwardedHeaders.from_raw([(b"authorization", b"Bearer t")])
    create(backend, headers=headers, default_key="pk_default")
    assert backend.only.headers.get_list("x-publishable-api-key") == ["pk_default"]
    assert backend.only.headers["authorization"] == "Bearer t"


def test_a_blank_client_key_falls_back_to_the_default_key() -> None:
    backend = Backend()
    headers = ForwardedHeaders.from_raw([(b"x-publishable-api-key", b" ")])
    create(backend, headers=headers, default_key="pk_default")
    assert backend.only.headers.get_list("x-publishable-api-key") == ["pk_default"]


def test_a_client_key_works_without_a_default_key() -> None:
    backend = Backend()
    headers = ForwardedHeaders.from_raw([(b"x-publishable-api-key", b"pk_client")])
    create(backend, headers=headers, default_key=None)
    assert backend.only.headers.get_list("x-publishable-api-key") == ["pk_client"]


def test_no_key_anywhere_sends_nothing() -> None:
    backend = Backend()
    trace: list[UpstreamCall] = []
    with pytest.raises(PublishableKeyRequired) as caught:
        create(backend, default_key=None, trace=trace)
    assert caught.value.code == "PUBLISHABLE_KEY_REQUIRED"
    assert backend.requests == []
    assert trace == []


def test_forwarded_headers_repr_shows_names_but_never_values() -> None:
    headers = ForwardedHeaders.from_raw(INCOMING)
    text = repr(headers)
    for secret in ("pk_client", "customer.jwt.token", "connect.sid", "fr-FR"):
        assert secret not in text
    assert text == (
        "ForwardedHeaders(['x-publishable-api-key', 'authorization', 'cookie', 'x-medusa-locale'])"
    )
    assert "pk_client" not in str(headers)
    assert "pk_client" not in f"{headers!r} {headers}"


# --- Medusa's answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code_in", "body", "code"),
    [
        (
            400,
            {
                "type": "not_allowed",
                "message": "A valid publishable key is required to proceed with the request",
            },
            "PUBLISHABLE_KEY_INVALID",
        ),
        (
            400,
            {"type": "invalid_data", "message": "Invalid request: Field 'provider_id' is required"},
            "BAD_USER_INPUT",
        ),
        (400, {"type": "not_allowed", "message": "Not allowed"}, "FORBIDDEN"),
        (401, {"type": "unauthorized", "message": "Unauthorized"}, "UNAUTHENTICATED"),
        (403, {"type": "forbidden", "message": "Forbidden"}, "FORBIDDEN"),
        (404, {"type": "not_found", "message": "Cart id not found: cart_X"}, "NOT_FOUND"),
        (409, {"type": "conflict", "code": "invalid_state_error", "message": "c"}, "CONFLICT"),
        (
            422,
            {"type": "payment_authorization_error", "message": "declined"},
            ("PAYMENT_AUTHORIZATION_FAILED"),
        ),
        (
            422,
            {"type": "duplicate_error", "code": "invalid_request_error", "message": "d"},
            ("CONFLICT"),
        ),
        (
            500,
            {
                "code": "unknown_error",
                "type": "unknown_error",
                "message": "An unknown error occurred.",
            },
            "BACKEND_ERROR",
        ),
        (503, {"type": "unknown_error", "message": "x"}, "BACKEND_ERROR"),
    ],
)
def test_each_error_status_goes_through_backend_rejected_once(
    code_in: int, body: dict[str, str], code: str
) -> None:
    backend = Backend(status(code_in, body))
    trace: list[UpstreamCall] = []
    with pytest.raises(BackendRejected) as caught:
        create(backend, trace=trace, fields="id")
    expected = BackendRejected.from_medusa(code_in, body)
    assert caught.value.code == code
    assert caught.value.status == code_in
    assert caught.value.message == expected.message
    assert caught.value.extensions() == expected.extensions()
    assert len(backend.requests) == 1
    assert [(c.status, c.fields) for c in trace] == [(code_in, "id")]


def test_a_non_json_200_is_a_protocol_error() -> None:
    backend = Backend(lambda _: httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(BackendProtocolError) as caught:
        create(backend)
    assert caught.value.code == "BACKEND_ERROR"
    assert caught.value.status == 200
    assert caught.value.extensions()["medusa"] == {"status": 200}
    assert len(backend.requests) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"x": 1},
        [],
        [{"payment_collection": COLLECTION}],
        "payment_collection",
        None,
        {"payment_collection": None},
        {"payment_collection": []},
        {"payment_collection": {"amount": 50}},
        {"payment_collection": {"id": 5}},
    ],
)
def test_json_200_without_a_payment_collection_is_a_protocol_error(payload: object) -> None:
    backend = Backend(lambda _: httpx.Response(200, content=json.dumps(payload).encode()))
    with pytest.raises(BackendProtocolError) as caught:
        create(backend)
    assert caught.value.code == "BACKEND_ERROR"
    assert len(backend.requests) == 1


def test_an_empty_2xx_is_a_protocol_error() -> None:
    backend = Backend(lambda _: httpx.Response(204))
    with pytest.raises(BackendProtocolError) as caught:
        create(backend)
    assert caught.value.status == 204
    assert len(backend.requests) == 1


def test_an_html_502_is_a_backend_error() -> None:
    backend = Backend(
        lambda _: httpx.Response(
            502,
            text="<html><body>502 Bad Gateway</body></html>",
            headers={"content-type": "text/html"},
        )
    )
    trace: list[UpstreamCall] = []
    with pytest.raises(BackendRejected) as caught:
        create(backend, trace=trace)
    assert caught.value.code == "BACKEND_ERROR"
    assert caught.value.extensions() == {
        "code": "BACKEND_ERROR",
        "retryable": False,
        "medusa": {"status": 502},
    }
    assert "Bad Gateway" not in caught.value.message
    assert len(backend.requests) == 1
    assert trace[0].status == 502


def test_a_redirect_is_not_followed() -> None:
    backend = Backend(
        lambda _: httpx.Response(307, headers={"location": "http://medusa.test/elsewhere"})
    )
    with pytest.raises(GatewayError) as caught:
        create(backend)
    assert caught.value.code == "BACKEND_ERROR"
    assert len(backend.requests) == 1


# --- transport failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "error", "code", "retryable"),
    [
        (httpx.ConnectError, BackendUnavailable, "BACKEND_UNAVAILABLE", True),
        (httpx.ConnectTimeout, BackendUnavailable, "BACKEND_UNAVAILABLE", True),
        (httpx.PoolTimeout, BackendUnavailable, "BACKEND_UNAVAILABLE", True),
        (httpx.ReadTimeout, BackendTimeout, "BACKEND_TIMEOUT", False),
        (httpx.WriteTimeout, BackendTimeout, "BACKEND_TIMEOUT", False),
        (httpx.ReadError, BackendConnectionLost, "BACKEND_CONNECTION_LOST", False),
        (httpx.WriteError, BackendConnectionLost, "BACKEND_CONNECTION_LOST", False),
        (httpx.RemoteProtocolError, BackendConnectionLost, "BACKEND_CONNECTION_LOST", False),
    ],
)
def test_transport_failures_are_translated_and_never_retried(
    exception: type[httpx.HTTPError], error: type[GatewayError], code: str, retryable: bool
) -> None:
    backend = Backend(raising(exception))
    trace: list[UpstreamCall] = []
    with pytest.raises(error) as caught:
        create(backend, trace=trace, fields="id,amount")
    assert caught.value.code == code
    assert caught.value.retryable is retryable
    assert caught.value.extensions() == {"code": code, "retryable": retryable}
    assert isinstance(caught.value.__cause__, exception)
    assert len(backend.requests) == 1
    (call,) = trace
    assert (call.method, call.path, call.fields, call.status) == ("POST", PATH, "id,amount", None)


@pytest.mark.parametrize(
    ("exception", "error"),
    [(httpx.ReadTimeout, BackendTimeout), (httpx.ReadError, BackendConnectionLost)],
)
def test_a_read_whose_answer_is_lost_is_retryable(
    exception: type[httpx.HTTPError], error: type[GatewayError]
) -> None:
    # A GET changes nothing at Medusa: sent again unchanged it may succeed, and cannot repeat
    # an effect. The same failure on the session POST is not retryable (test above).
    with pytest.raises(error) as caught:
        providers(Backend(raising(exception)))
    assert caught.value.retryable is True


@pytest.mark.parametrize("exception", [httpx.ReadTimeout, httpx.WriteTimeout])
def test_a_timeout_after_sending_says_the_outcome_is_unknown(
    exception: type[httpx.HTTPError],
) -> None:
    with pytest.raises(BackendTimeout) as caught:
        create(Backend(raising(exception)))
    assert "outcome is unknown" in caught.value.message
    assert "nothing was sent" not in caught.value.message


@pytest.mark.parametrize("exception", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_a_failure_before_sending_says_nothing_was_sent(exception: type[httpx.HTTPError]) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        create(Backend(raising(exception)))
    assert "nothing was sent" in caught.value.message


def test_a_busy_pool_is_named_as_the_reason() -> None:
    with pytest.raises(BackendUnavailable) as caught:
        create(Backend(raising(httpx.PoolTimeout)))
    assert "busy" in caught.value.message


@pytest.mark.parametrize("exception", [httpx.ReadError, httpx.RemoteProtocolError])
def test_a_broken_connection_says_the_outcome_is_unknown(
    exception: type[httpx.HTTPError],
) -> None:
    with pytest.raises(BackendConnectionLost) as caught:
        create(Backend(raising(exception)))
    assert "outcome is unknown" in caught.value.message


def test_a_local_protocol_error_means_nothing_was_sent() -> None:
    backend = Backend(raising(httpx.LocalProtocolError))
    with pytest.raises(BackendUnavailable) as caught:
        create(backend)
    assert caught.value.retryable is True
    assert "LocalProtocolError" in caught.value.message
    assert len(backend.requests) == 1


def test_an_undecodable_answer_is_not_reported_as_never_sent() -> None:
    # Medusa answered (so the session was created), but the body cannot be decoded: httpx
    # raises DecodingError while reading it. Claiming "nothing was sent" with retryable=True
    # invites a client to create a second session.
    backend = Backend(
        lambda _: httpx.Response(
            200, headers={"content-encoding": "gzip"}, content=b"definitely not gzip"
        )
    )
    with pytest.raises(GatewayError) as caught:
        create(backend)
    assert len(backend.requests) == 1
    assert caught.value.code != "BACKEND_UNAVAILABLE"
    assert caught.value.retryable is False
    assert "nothing was sent" not in caught.value.message


def test_a_redirect_loop_is_a_backend_error_that_was_sent() -> None:
    # TooManyRedirects only exists after answers came back: never "nothing was sent".
    backend = Backend(raising(httpx.TooManyRedirects))
    with pytest.raises(BackendProtocolError) as caught:
        create(backend)
    assert caught.value.extensions() == {"code": "BACKEND_ERROR", "retryable": False}
    assert "too many redirects" in caught.value.message
    assert "nothing was sent" not in caught.value.message


def test_an_undecodable_answer_is_a_backend_error() -> None:
    backend = Backend(
        lambda _: httpx.Response(200, headers={"content-encoding": "gzip"}, content=b"nope")
    )
    with pytest.raises(BackendProtocolError) as caught:
        create(backend)
    assert caught.value.code == "BACKEND_ERROR"
    assert "could not be decoded" in caught.value.message


# --- trace ------------------------------------------------------------------------------------


def test_a_successful_call_is_traced_once() -> None:
    trace: list[UpstreamCall] = []
    create(Backend(), fields="id,amount", trace=trace)
    (call,) = trace
    assert call.method == "POST"
    assert call.path == PATH
    assert call.fields == "id,amount"
    assert call.status == 200
    assert call.as_dict() == {
        "method": "POST",
        "path": PATH,
        "query": None,
        "fields": "id,amount",
        "status": 200,
        "ms": round(call.ms, 2),
    }


def test_a_call_without_fields_traces_none() -> None:
    trace: list[UpstreamCall] = []
    create(Backend(), fields=None, trace=trace)
    assert trace[0].fields is None


def test_the_trace_accumulates_one_entry_per_call() -> None:
    trace: list[UpstreamCall] = []
    create(Backend(), fields="id", trace=trace)
    with pytest.raises(BackendRejected):
        create(Backend(status(404, {"type": "not_found", "message": "x"})), trace=trace)
    with pytest.raises(BackendTimeout):
        create(Backend(raising(httpx.ReadTimeout)), trace=trace)
    assert [(c.fields, c.status) for c in trace] == [("id", 200), (None, 404), (None, None)]


def test_a_protocol_error_is_traced_with_its_status() -> None:
    trace: list[UpstreamCall] = []
    with pytest.raises(BackendProtocolError):
        create(Backend(lambda _: httpx.Response(200, text="nope")), trace=trace)
    assert [c.status for c in trace] == [200]


def test_as_dict_rounds_milliseconds() -> None:
    call = UpstreamCall("POST", PATH, None, None, 12.34567)
    assert call.as_dict()["ms"] == 12.35
    assert call.as_dict()["status"] is None


# --- payment providers ------------------------------------------------------------------------


def test_providers_are_listed_with_a_get_and_no_body() -> None:
    answer = {
        "payment_providers": [{"id": "pp_system_default", "is_enabled": True}],
        "count": 1,
        "offset": 0,
        "limit": 20,
    }
    backend = Backend(status(200, answer))
    trace: list[UpstreamCall] = []
    result = providers(backend, "reg_01", trace=trace)
    request = backend.only
    assert result == [{"id": "pp_system_default", "is_enabled": True}]
    assert request.method == "GET"
    assert request.url.path == "/store/payment-providers"
    assert dict(request.url.params) == {
        "region_id": "reg_01",
        "fields": "id,is_enabled",
        "limit": "100",
    }
    assert request.content == b""
    assert "content-type" not in request.headers
    assert request.headers["accept"] == "application/json"
    assert request.headers["x-publishable-api-key"] == "pk_default"
    assert [(c.method, c.path, c.fields, c.status) for c in trace] == [
        ("GET", "/store/payment-providers", "id,is_enabled", 200)
    ]


@pytest.mark.parametrize("region_id", ["", "reg/01", "reg_01&limit=1", "r" * 129])
def test_unsafe_region_ids_are_refused_without_a_request(region_id: str) -> None:
    backend = Backend()
    with pytest.raises(RequestError):
        providers(backend, region_id)
    assert backend.requests == []


@pytest.mark.parametrize(
    "payload",
    [{}, {"payment_providers": None}, {"payment_providers": [1]}, [{"id": "pp"}]],
)
def test_a_providers_answer_without_a_list_of_objects_is_a_protocol_error(
    payload: object,
) -> None:
    backend = Backend(status(200, payload))
    with pytest.raises(BackendProtocolError):
        providers(backend)
    assert len(backend.requests) == 1


def test_a_missing_region_is_a_bad_user_input() -> None:
    body = {"type": "invalid_data", "message": "Invalid request: Field 'region_id' is required"}
    with pytest.raises(BackendRejected) as caught:
        providers(Backend(status(400, body)))
    assert caught.value.code == "BAD_USER_INPUT"


# --- health -----------------------------------------------------------------------------------


def healthy(respond: Responder) -> tuple[bool, list[httpx.Request]]:
    backend = Backend(respond)

    async def run() -> bool:
        transport = httpx.MockTransport(backend.handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://medusa.test") as http:
            return await MedusaClient(http, default_key=None).health()

    return asyncio.run(run()), backend.requests


def test_health_is_true_on_200_from_get_health() -> None:
    result, requests = healthy(lambda _: httpx.Response(200, text="OK"))
    assert result is True
    (request,) = requests
    assert (request.method, request.url.path) == ("GET", "/health")


@pytest.mark.parametrize(
    "respond",
    [
        status(503),
        status(500, {"type": "unknown_error"}),
        status(404),
        status(204),
        raising(httpx.ConnectError),
        raising(httpx.ConnectTimeout),
        raising(httpx.ReadTimeout),
        raising(httpx.RemoteProtocolError),
    ],
)
def test_health_is_false_otherwise(respond: Responder) -> None:
    result, requests = healthy(respond)
    assert result is False
    assert len(requests) == 1


# --- the one retry, and bounded answers ---------------------------------------------------------


def create_with(backend: Backend, **client_options: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        transport = httpx.MockTransport(backend.handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://medusa.test") as http:
            client = MedusaClient(http, default_key="pk_default", **client_options)
            return await client.create_payment_session(
                COLLECTION_ID,
                provider_id="pp_system_default",
                data=None,
                fields=None,
                headers=ForwardedHeaders(()),
            )

    return asyncio.run(run())


def refused_then(respond: Responder, refusals: int) -> Responder:
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        if count <= refusals:
            raise httpx.ConnectError("refused", request=request)
        return respond(request)

    return handler


def test_a_refused_connection_is_retried_once() -> None:
    backend = Backend(refused_then(ok, 1))
    assert create_with(backend, connect_retries=1)["id"] == COLLECTION_ID
    assert len(backend.requests) == 2


def test_a_second_refusal_is_unavailable_after_exactly_two_attempts() -> None:
    backend = Backend(refused_then(ok, 2))
    with pytest.raises(BackendUnavailable):
        create_with(backend, connect_retries=1)
    assert len(backend.requests) == 2


@pytest.mark.parametrize(
    "exception",
    [
        httpx.ConnectTimeout,
        httpx.PoolTimeout,
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
def test_nothing_else_is_retried(exception: type[httpx.HTTPError]) -> None:
    backend = Backend(raising(exception))
    with pytest.raises(GatewayError):
        create_with(backend, connect_retries=1)
    assert len(backend.requests) == 1


def test_an_answer_over_the_size_limit_is_a_backend_error() -> None:
    huge = {"payment_collection": {"id": COLLECTION_ID, "metadata": {"x": "y" * 20_000}}}
    backend = Backend(status(200, huge))
    with pytest.raises(BackendProtocolError) as caught:
        create_with(backend, max_response_bytes=10_000)
    assert "larger than 10000 bytes" in caught.value.message
    assert caught.value.extensions()["medusa"] == {"status": 200}


def test_a_compressed_answer_is_bounded_after_decompression() -> None:
    import gzip

    bomb = gzip.compress(b'{"payment_collection": {"id": "' + b"a" * 200_000 + b'"}}')
    assert len(bomb) < 10_000
    backend = Backend(
        lambda _: httpx.Response(
            200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(bomb)
        )
    )
    with pytest.raises(BackendProtocolError) as caught:
        create_with(backend, max_response_bytes=10_000)
    assert "larger than" in caught.value.message


class _BreaksMidBody(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"payment_collection": {"id"'
        raise httpx.ReadError("connection reset by peer")


class _StreamingTransport(httpx.AsyncBaseTransport):
    """Returns the response unread, like a real network transport (MockTransport reads it)."""

    def __init__(self, stream: httpx.AsyncByteStream, **headers: str) -> None:
        self.stream = stream
        self.headers = headers
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        return httpx.Response(200, headers=self.headers, stream=self.stream, request=request)


def run_on(transport: httpx.AsyncBaseTransport) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=transport, base_url="http://medusa.test") as http:
            client = MedusaClient(http, default_key="pk", connect_retries=1)
            return await client.create_payment_session(
                COLLECTION_ID,
                provider_id="pp",
                data=None,
                fields=None,
                headers=ForwardedHeaders(()),
            )

    return asyncio.run(run())


def test_a_reset_in_the_middle_of_the_answer_is_an_unknown_outcome_never_retried() -> None:
    transport = _StreamingTransport(_BreaksMidBody())
    with pytest.raises(BackendConnectionLost):
        run_on(transport)
    assert transport.requests == 1


def test_a_streamed_undecodable_answer_carries_its_status() -> None:
    transport = _StreamingTransport(httpx.ByteStream(b"not gzip"), **{"content-encoding": "gzip"})
    with pytest.raises(BackendProtocolError) as caught:
        run_on(transport)
    assert caught.value.status == 200
    assert transport.requests == 1


def test_a_declared_oversized_answer_is_refused_before_reading() -> None:
    transport = _StreamingTransport(httpx.ByteStream(b"{}"), **{"content-length": "99999999"})
    with pytest.raises(BackendProtocolError) as caught:
        run_on(transport)
    assert "larger than" in caught.value.message


class _SlowMidBody(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b"{"
        raise httpx.ReadTimeout("slow")


def test_a_timeout_while_reading_the_answer_is_a_backend_timeout() -> None:
    with pytest.raises(BackendTimeout) as caught:
        run_on(_StreamingTransport(_SlowMidBody()))
    assert "outcome is unknown" in caught.value.message
    assert "/store/" not in caught.value.message  # REST is not the client's language
