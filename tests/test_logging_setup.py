"""Logging: JSON lines with the request id the backend also got, and never a secret."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway import cli
from gateway.config import Settings
from gateway.logging_setup import JsonFormatter, RequestIdFilter, configure_logging
from gateway.observability import REQUEST_ID
from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, GatewayFactory, mutation
from tests.serving import free_port

PC = "paymentCollection"
CLIENT_KEY = "pk_CLIENT-SECRET-KEY-9f8e"
BEARER = "eyJ-BEARER-SECRET-TOKEN"
COOKIE = "connect.sid=s%3ACOOKIE-SECRET-VALUE"
SECRETS = (CLIENT_KEY, BEARER, COOKIE, "COOKIE-SECRET-VALUE", PUBLISHABLE_KEY)

Configure = Callable[..., None]


@pytest.fixture
def configure(capsys: pytest.CaptureFixture[str]) -> Iterator[Configure]:
    """`configure(**settings)`: the CLI's logging set-up, writing to the captured stderr."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    names = ("httpx", "gateway.access")
    levels = {name: logging.getLogger(name).level for name in names}

    def apply(**overrides: Any) -> None:
        configure_logging(Settings(**overrides))

    yield apply
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def post(client: Any, query: str, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = client.post("/graphql", json={"query": query}, **kwargs)
    return response


def test_one_json_line_per_request_with_the_id_the_backend_received(
    configure: Configure,
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(log_format="json", access_log=True, log_level="warning")
    client = gateway(access_log=True)
    capsys.readouterr()
    query = mutation(f"{PC} {{ id }}").replace("mutation", "mutation Checkout", 1)
    response = post(client, query)

    (line,) = [entry for entry in json_lines(capsys) if entry["logger"] == "gateway.access"]
    request_id = response.headers["x-request-id"]
    assert medusa.last.headers["x-request-id"] == request_id
    assert line["request_id"] == request_id
    assert line["operation"] == "Checkout"
    assert line["operation_type"] == "mutation"
    assert line["code"] == "OK"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info"
    assert line["time"].endswith("Z")
    assert request_id in line["message"]


def test_records_logged_while_serving_a_request_carry_its_id(
    configure: Configure,
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure(log_format="json")
    client = gateway()
    # A projection miss (warned by schema.verify, which knows nothing of requests) ...
    medusa.respond = lambda _: httpx.Response(200, json={"payment_collection": {"id": "p"}})
    dropped = post(client, mutation(f"{PC} {{ amount }}"), headers={"x-request-id": "req-miss"})
    # ... and an unexpected failure (logged with its traceback by the error formatter).

    def explode(_: httpx.Request) -> httpx.Response:
        raise RuntimeError("internals")

    medusa.respond = explode
    failed = post(client, mutation(f"{PC} {{ id }}"), headers={"x-request-id": "req-boom"})

    assert dropped.headers["x-request-id"] == "req-miss"
    assert failed.json()["errors"][0]["extensions"]["requestId"] == "req-boom"
    lines = json_lines(capsys)
    (warning,) = [e for e in lines if e["logger"] == "gateway.projection"]
    assert warning["request_id"] == "req-miss"
    assert warning["level"] == "warning"
    (error,) = [e for e in lines if e["logger"] == "gateway.graphql"]
    assert error["request_id"] == "req-boom"
    assert "RuntimeError: internals" in error["exception"]
    assert not [e for e in lines if e["logger"] == "gateway.access"]  # off by default


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_key_token_or_cookie_appears_in_any_log_line(
    configure: Configure,
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    capsys: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    configure(log_format=log_format, access_log=True, log_level="debug")
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # the noisiest setting there is
    client = gateway(debug=True, access_log=True)
    secrets = {"x-publishable-api-key": CLIENT_KEY, "authorization": f"Bearer {BEARER}"}
    secrets["cookie"] = COOKIE
    answers = [
        None,  # the default: success
        httpx.Response(200, json={"payment_collection": {"id": "p"}}),  # projection miss
        httpx.Response(401, json={"type": "unauthorized", "message": "Unauthorized"}),
        httpx.Response(500, json={"type": "unknown_error", "message": "boom"}),
    ]
    default = medusa.respond

    def answering(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
        return lambda _: response

    for answer in answers:
        medusa.respond = default if answer is None else answering(answer)
        post(client, mutation(f"{PC} {{ id amount }}"), headers=secrets)
        post(client, mutation(f"{PC} {{ id }}"))  # with the gateway's own key

    def explode(_: httpx.Request) -> httpx.Response:
        raise RuntimeError("internals")

    medusa.respond = explode
    post(client, mutation(f"{PC} {{ id }}"), headers=secrets)
    assert CLIENT_KEY in medusa.requests[0].headers["x-publishable-api-key"]  # really sent

    err = capsys.readouterr().err
    assert err.count("gateway.access") >= 9  # the requests were logged ...
    for secret in SECRETS:
        assert secret not in err  # ... and no secret was
    if log_format == "json":
        for line in err.splitlines():
            json.loads(line)


def test_text_format_is_the_default(
    configure: Configure, gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(access_log=True)
    response = post(gateway(access_log=True), mutation(f"{PC} {{ id }}"))
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if "gateway.access" in line]
    assert " INFO gateway.access: mutation (anonymous) -> OK (HTTP 200)" in line
    assert response.headers["x-request-id"] in line


def test_the_formatter_keeps_extras_and_survives_odd_values() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "hello %s", ("you",), None)
    record.request_id = "r-1"
    record.odd = {1, 2}
    record.color_message = "\x1b[36mhello\x1b[0m"
    try:
        raise ValueError("bad")  # a real exc_info for the formatter
    except ValueError:
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello you"
    assert entry["request_id"] == "r-1"
    assert entry["odd"] in {"{1, 2}", "{2, 1}"}
    assert "color_message" not in entry
    assert "ValueError: bad" in entry["exception"]
    record.big = 2**70  # beyond orjson: the standard library writes it
    assert json.loads(JsonFormatter().format(record))["big"] == 2**70


def test_the_filter_tags_records_only_inside_a_request() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    assert RequestIdFilter().filter(record)
    assert not hasattr(record, "request_id")
    token = REQUEST_ID.set("r-9")
    try:
        assert RequestIdFilter().filter(record)
    finally:
        REQUEST_ID.reset(token)
    assert record.request_id == "r-9"  # type: ignore[attr-defined]


def test_serve_configures_logging_and_hands_uvicorn_no_config_of_its_own(
    configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    configs: list[uvicorn.Config] = []

    def fake_run(self: uvicorn.Server, sockets: object = None) -> None:
        configs.append(self.config)
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    argv = [
        "--log-format",
        "json",
        "--medusa-url",
        "http://medusa.test",
        "--port",
        str(free_port()),
    ]
    assert cli.main(argv) == 0
    (config,) = configs
    assert config.log_config is None
    assert config.access_log is False
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)


def test_serve_refuses_bad_otel_variables_with_a_message(
    configure: Configure, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **kw: pytest.fail("must not serve"))
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    assert cli.main(["--medusa-url", "http://medusa.test", "--port", str(free_port())]) == 2
    assert "OTEL_TRACES_EXPORTER" in capsys.readouterr().err
