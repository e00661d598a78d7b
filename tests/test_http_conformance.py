"""HTTP/1.1 conformance of the fast transport, case by case, against httpcore's.

Each case is served as raw bytes by a real asyncio server on 127.0.0.1, and run through both
the gateway's `KeepAliveTransport` and httpx's default transport (httpcore + h11): both must
give the expected outcome (the answer, or the httpx error class), so the fast transport
behaves as the reference client does wherever the reference handles the case. A follow-up
request on the same client checks the connection was left in a sane state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gzip
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from medusa_client.tls import TLSConfigError, client_context
from medusa_client.transport import KeepAliveTransport, ResponseTooLarge

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


@dataclass
class RawServer:
    """Answers the n-th request with `answers[n]` (raw bytes), then closes if told to."""

    answers: list[tuple[list[bytes], bool]]
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    read_requests: bool = True

    async def on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                if not self.read_requests:
                    await asyncio.sleep(30)  # never reads: the client's writes pile up
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                self.requests.append(head)
                pieces, close = self.answers[min(len(self.requests), len(self.answers)) - 1]
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    if len(pieces) > 1:
                        await asyncio.sleep(0.002)  # arrive as separate reads
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


Kind = str
#: The fast transport on both event loops (uvicorn runs the gateway on uvloop), and httpcore.
KINDS = ["keepalive", "keepalive-uvloop", "httpcore"]


def run_on(kind: Kind, main: Coroutine[Any, Any, None]) -> None:
    factory = uvloop.new_event_loop if kind.endswith("uvloop") else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def make_transport(
    kind: Kind, *, tls: ssl.SSLContext | None = None, max_response_bytes: int = 2_000_000
) -> httpx.AsyncBaseTransport:
    if kind.startswith("keepalive"):
        return KeepAliveTransport(
            max_connections=4,
            keepalive_expiry=5.0,
            ssl_context=tls,
            max_response_bytes=max_response_bytes,
        )
    return httpx.AsyncHTTPTransport(verify=tls if tls is not None else True)


def outcome(response: httpx.Response | BaseException) -> tuple[Any, ...]:
    """What a caller can observe: the answer, or the kind of failure."""
    if isinstance(response, BaseException):
        return ("error", type(response).__name__)
    wanted = ("content-length", "content-type", "link", "x-trailer", "set-cookie")
    headers = tuple((k, v) for k, v in response.headers.multi_items() if k in wanted)
    return (response.status_code, response.content, headers)


async def exchange(
    client: httpx.AsyncClient, method: str, path: str, **options: Any
) -> httpx.Response | BaseException:
    try:
        return await client.request(method, path, **options)
    except httpx.HTTPError as error:
        return error


def serve_and_run(
    server: RawServer,
    kind: Kind,
    scenario: Callable[[httpx.AsyncClient], Awaitable[None]],
    *,
    timeout: httpx.Timeout | None = None,
    max_response_bytes: int = 2_000_000,
) -> None:
    async def main() -> None:
        listener = await asyncio.start_server(server.on_client, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        transport = make_transport(kind, max_response_bytes=max_response_bytes)
        try:
            async with httpx.AsyncClient(
                transport=transport,
                base_url=f"http://127.0.0.1:{port}",
                timeout=timeout or httpx.Timeout(2.0),
                trust_env=False,
            ) as client:
                await scenario(client)
        finally:
            listener.close()
            await asyncio.sleep(0.01)

    run_on(kind, main())


def chunked(*parts: bytes, trailer: bytes = b"") -> bytes:
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts)
    return (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        + body
        + b"0\r\n"
        + trailer
        + b"\r\n"
    )


@dataclass(frozen=True)
class Case:
    name: str
    answer: list[bytes]
    expected: tuple[Any, ...]
    close: bool = False
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    #: Connections the server saw after the case and one follow-up request.
    connections: int = 1


JSON_HEADERS = (("content-type", "application/json"), ("content-length", "11"))
OK_OUTCOME = (200, b'{"ok":true}', JSON_HEADERS)

CASES = [
    Case("plain", [OK], OK_OUTCOME),
    Case(
        "100-continue-then-answer",
        [b"HTTP/1.1 100 Continue\r\n\r\n" + OK.replace(b"200 OK", b"201 Created")],
        (201, b'{"ok":true}', JSON_HEADERS),
    ),
    Case(
        "103-early-hints-then-answer",
        [b"HTTP/1.1 103 Early Hints\r\nlink: </app.css>; rel=preload\r\n\r\n", OK],
        OK_OUTCOME,
    ),
    Case(
        "several-interim-answers",
        [
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\n\r\n" + OK,
        ],
        OK_OUTCOME,
    ),
    Case(
        "body-delimited-by-close",
        [b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"a":', b"1}"],
        (200, b'{"a":1}', (("content-type", "application/json"),)),
        close=True,
        connections=2,
    ),
    Case(
        "http-1.0-body-delimited-by-close",
        [b"HTTP/1.0 200 OK\r\n\r\nabc"],
        (200, b"abc", ()),
        close=True,
        connections=2,
    ),
    Case(
        "empty-body-delimited-by-close",
        [b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"],
        (200, b"", ()),
        close=True,
        connections=2,
    ),
    Case(
        "chunked-with-extensions-and-trailer",
        [chunked(b"abc", b"def", trailer=b"x-trailer: dropped\r\n")],
        (200, b"abcdef", ()),
    ),
    Case(
        "chunked-byte-by-byte",
        [bytes([b]) for b in chunked(b'{"ok":', b"true}")],
        (200, b'{"ok":true}', ()),
    ),
    Case(
        "head-with-content-length",
        [b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1234\r\n\r\n"],
        (200, b"", (("content-type", "application/json"), ("content-length", "1234"))),
        method="HEAD",
        connections=None,  # type: ignore[arg-type]  # reuse after HEAD: either is correct
    ),
    Case(
        "answer-says-connection-close",
        [OK.replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n")],
        (200, b'{"ok":true}', JSON_HEADERS),
        close=True,
        connections=2,
    ),
    Case(
        "request-says-connection-close",
        [OK],
        OK_OUTCOME,
        headers={"connection": "close"},
        connections=2,
    ),
    Case("204-no-body", [b"HTTP/1.1 204 No Content\r\n\r\n"], (204, b"", ())),
    Case(
        "304-no-body-despite-length",
        [b"HTTP/1.1 304 Not Modified\r\ncontent-length: 11\r\n\r\n"],
        (304, b"", (("content-length", "11"),)),
    ),
    Case(
        "gzip-body",
        [
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n"
            % len(gzip.compress(b"hello"))
            + gzip.compress(b"hello")
        ],
        (200, b"hello", (("content-length", str(len(gzip.compress(b"hello")))),)),
    ),
    Case(
        "two-set-cookie-headers-kept-apart",
        [b"HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-length: 0\r\n\r\n"],
        (200, b"", (("set-cookie", "a=1"), ("set-cookie", "b=2"), ("content-length", "0"))),
    ),
    Case(
        "body-shorter-than-its-length",
        [b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"],
        ("error", "RemoteProtocolError"),
        close=True,
        connections=2,
    ),
    Case(
        "chunked-body-cut-off",
        [b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"],
        ("error", "RemoteProtocolError"),
        close=True,
        connections=2,
    ),
    Case(
        "interim-answer-then-hang-up",
        [b"HTTP/1.1 100 Continue\r\n\r\n"],
        ("error", "RemoteProtocolError"),
        close=True,
        connections=2,
    ),
    Case("hang-up-without-answer", [], ("error", "RemoteProtocolError"), close=True, connections=2),
    Case(
        "not-http",
        [b"SSH-2.0-OpenSSH_9.6\r\n"],
        ("error", "RemoteProtocolError"),
        close=True,
        connections=2,
    ),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_case_has_the_same_outcome_on_both_transports(case: Case, kind: Kind) -> None:
    server = RawServer([(case.answer, case.close), ([OK], False)])
    seen: list[tuple[Any, ...]] = []

    async def scenario(client: httpx.AsyncClient) -> None:
        seen.append(outcome(await exchange(client, case.method, "/case", headers=case.headers)))
        await asyncio.sleep(0.02)  # let a close reach the client
        seen.append(outcome(await exchange(client, "GET", "/after")))

    serve_and_run(server, kind, scenario)
    assert seen == [case.expected, OK_OUTCOME]
    if case.connections is not None:
        assert server.connections == case.connections
    assert len(server.requests) == 2  # nothing was retried


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_that_never_comes_is_a_read_timeout(kind: Kind) -> None:
    server = RawServer([([b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"], False)])

    async def scenario(client: httpx.AsyncClient) -> None:
        assert outcome(await exchange(client, "GET", "/slow")) == ("error", "ReadTimeout")

    serve_and_run(server, kind, scenario, timeout=httpx.Timeout(2.0, read=0.3))
    assert len(server.requests) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_backend_that_stops_reading_is_a_write_timeout(kind: Kind) -> None:
    server = RawServer([([OK], False)], read_requests=False)
    body = b"x" * (48 * 1024 * 1024)  # more than the loopback socket buffers hold

    async def scenario(client: httpx.AsyncClient) -> None:
        result = await exchange(client, "POST", "/stuck", content=body)
        assert outcome(result) == ("error", "WriteTimeout")

    serve_and_run(server, kind, scenario, timeout=httpx.Timeout(5.0, write=0.3))


@pytest.mark.parametrize("chunks", [False, True], ids=["content-length", "chunked"])
def test_the_response_cap_applies_while_the_raw_bytes_arrive(chunks: bool) -> None:
    big = b"x" * 5000
    answer = (
        chunked(big[:2500], big[2500:])
        if chunks
        else (b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + big)
    )
    server = RawServer([([answer], False), ([OK], False)])

    async def scenario(client: httpx.AsyncClient) -> None:
        result = await exchange(client, "GET", "/big")
        assert isinstance(result, ResponseTooLarge)
        assert "4000" in str(result)
        assert outcome(await exchange(client, "GET", "/after")) == OK_OUTCOME

    serve_and_run(server, "keepalive", scenario, max_response_bytes=4000)
    assert server.connections == 2  # the connection with the refused answer was dropped


def test_a_101_switching_protocols_is_refused() -> None:
    answer = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n"
    server = RawServer([([answer], False)])

    async def scenario(client: httpx.AsyncClient) -> None:
        assert outcome(await exchange(client, "GET", "/up")) == ("error", "RemoteProtocolError")

    serve_and_run(server, "keepalive", scenario)


def test_huge_response_headers_are_refused() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\n" + b"x-filler: " + b"a" * 70_000 + b"\r\ncontent-length: 0\r\n\r\n"
    )
    server = RawServer([([answer], False)])

    async def scenario(client: httpx.AsyncClient) -> None:
        assert outcome(await exchange(client, "GET", "/h")) == ("error", "RemoteProtocolError")

    serve_and_run(server, "keepalive", scenario)


# -- TLS: a private CA, and mutual TLS ----------------------------------------------------------


@dataclass(frozen=True)
class PKI:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _ca(name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], name: str, *, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert, ca_key = ca
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()), key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    folder = tmp_path_factory.mktemp("pki")
    ca = _ca("Test Medusa CA")
    server_cert, server_key = _leaf(ca, "localhost", server=True)
    client_cert, client_key = _leaf(ca, "gateway", server=False)
    other, _ = _ca("Some Other CA")
    return PKI(
        ca=_write_cert(folder / "ca.pem", ca[0]),
        server_cert=_write_cert(folder / "server.pem", server_cert),
        server_key=_write_key(folder / "server.key", server_key),
        client_cert=_write_cert(folder / "client.pem", client_cert),
        client_key=_write_key(folder / "client.key", client_key),
        other_ca=_write_cert(folder / "other-ca.pem", other),
    )


def tls_server_context(pki: PKI, *, require_client: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


def run_tls(
    pki: PKI,
    kind: Kind,
    client_tls: ssl.SSLContext,
    *,
    require_client: bool,
    requests: int = 1,
    answer: tuple[list[bytes], bool] = ([OK], False),
) -> tuple[list[tuple[Any, ...]], RawServer]:
    server = RawServer([answer])
    seen: list[tuple[Any, ...]] = []

    async def main() -> None:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ssl.SSLError, OSError):
                await server.on_client(reader, writer)

        listener = await asyncio.start_server(
            on_client, "127.0.0.1", 0, ssl=tls_server_context(pki, require_client=require_client)
        )
        port = listener.sockets[0].getsockname()[1]
        async with httpx.AsyncClient(
            transport=make_transport(kind, tls=client_tls),
            base_url=f"https://localhost:{port}",
            timeout=2.0,
            trust_env=False,
        ) as client:
            results = await asyncio.gather(
                *(exchange(client, "GET", f"/tls{i}") for i in range(requests))
            )
            seen.extend(outcome(r) for r in results)
        listener.close()
        await asyncio.sleep(0.01)

    run_on(kind, main())
    return seen, server


@pytest.mark.parametrize("kind", KINDS)
def test_a_private_ca_bundle_and_a_client_certificate_reach_an_mtls_backend(
    pki: PKI, kind: Kind
) -> None:
    context = client_context(
        ca_bundle=pki.ca, client_cert=pki.client_cert, client_key=pki.client_key
    )
    seen, server = run_tls(pki, kind, context, require_client=True, requests=3)
    assert seen == [OK_OUTCOME] * 3
    assert len(server.requests) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_delimited_by_close_over_tls(pki: PKI, kind: Kind) -> None:
    answer = ([b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"a":1}'], True)
    seen, _ = run_tls(
        pki, kind, client_context(ca_bundle=pki.ca), require_client=False, answer=answer
    )
    assert seen == [(200, b'{"a":1}', (("content-type", "application/json"),))]


@pytest.mark.parametrize("kind", KINDS)
def test_a_backend_signed_by_another_ca_is_refused_before_sending(pki: PKI, kind: Kind) -> None:
    seen, server = run_tls(pki, kind, client_context(ca_bundle=pki.other_ca), require_client=False)
    assert seen == [("error", "ConnectError")]
    assert server.requests == []


@pytest.mark.parametrize("kind", KINDS)
def test_without_its_client_certificate_the_mtls_backend_sees_no_request(
    pki: PKI, kind: Kind
) -> None:
    seen, server = run_tls(pki, kind, client_context(ca_bundle=pki.ca), require_client=True)
    assert seen[0][0] == "error"
    assert server.requests == []


def test_one_ssl_context_serves_every_connection(pki: PKI, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        context.load_verify_locations(pki.ca)  # trust the test CA as the "system" store
        made.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counting)
    transport = KeepAliveTransport(max_connections=4, keepalive_expiry=5.0)
    server = RawServer([([OK], False)])

    async def main() -> None:
        listener = await asyncio.start_server(
            server.on_client, "127.0.0.1", 0, ssl=tls_server_context(pki, require_client=False)
        )
        port = listener.sockets[0].getsockname()[1]
        made.clear()  # the server's own context
        async with httpx.AsyncClient(
            transport=transport, base_url=f"https://localhost:{port}", timeout=2.0
        ) as client:
            results = await asyncio.gather(*(client.get(f"/c{i}") for i in range(4)))
            assert [r.status_code for r in results] == [200] * 4
        listener.close()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert server.connections == 4  # four concurrent requests: four connections
    assert len(made) == 1  # ... and one context


def test_unusable_tls_files_are_refused_naming_the_setting(pki: PKI, tmp_path: Path) -> None:
    with pytest.raises(TLSConfigError, match="GATEWAY_CA_BUNDLE"):
        client_context(ca_bundle=tmp_path / "missing.pem")
    with pytest.raises(TLSConfigError, match="GATEWAY_CLIENT_CERT"):
        client_context(client_cert=pki.client_cert, client_key=pki.server_key)  # wrong key
