"""Slow, idle and aborting clients against a real gateway process (issue 12, item 4).

`make test-floods` (CI: .ci/run) runs the 500-socket floods marked `floods`; `make test` runs
the quick variant at the end (60 sockets). Outcomes are asserted with generous time bounds;
the timings themselves are measured by bench/slow_clients.py.

One gateway process for the module, with a concurrency limit of 8 and no queue, so a single
slot held by a slow client would show up at once as a 503 for the legitimate request.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.floods.clients import GatewayProcess, SocketFlood, gateway_process, post

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 5.0
KEEPALIVE_TIMEOUT = 2.0
RSS_BOUND_MIB = 150.0
SLOW_BODY = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 400\r\n\r\n{"
)
SLOWLORIS = b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    with gateway_process(
        tmp_path_factory.mktemp("floods"),
        max_in_flight=8,
        queue_timeout=0,
        adaptive_concurrency="false",
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        log_level="info",
    ) as process:
        assert process.collection_id, process.log_text()
        yield process


@pytest.fixture
def flood(gateway: GatewayProcess) -> Iterator[SocketFlood]:
    sockets = SocketFlood(gateway.port)
    yield sockets
    sockets.close()


def _legitimate_mutation_succeeds(gateway: GatewayProcess) -> None:
    status, body, seconds = gateway.mutation(timeout=20)
    assert status == 200, body
    assert b'"paymentSession"' in body
    assert b'"errors"' not in body
    assert seconds < 10


@pytest.mark.floods
def test_500_slow_bodies_hold_no_slot_and_get_408(
    gateway: GatewayProcess, flood: SocketFlood
) -> None:
    flood.open(500, SLOW_BODY)  # headers + 1 body byte each, then nothing
    _legitimate_mutation_succeeds(gateway)
    outcome = flood.answers(wait=BODY_TIMEOUT + 10)
    assert outcome == {"408": 500}
    assert gateway.peak_rss_mib() < RSS_BOUND_MIB


@pytest.mark.floods
def test_500_slowloris_clients_are_cut_after_the_header_timeout(
    gateway: GatewayProcess, flood: SocketFlood
) -> None:
    flood.open(500, SLOWLORIS)
    flood.trickle(b"X-Slow: " + b"a" * 100, interval=0.25)  # a byte per socket, 4 per second
    _legitimate_mutation_succeeds(gateway)
    outcome = flood.answers(wait=HEADER_TIMEOUT + 10)
    assert outcome == {"408": 500}
    assert gateway.peak_rss_mib() < RSS_BOUND_MIB


@pytest.mark.floods
def test_idle_connections_are_reaped(gateway: GatewayProcess, flood: SocketFlood) -> None:
    flood.open(100, b"")
    _legitimate_mutation_succeeds(gateway)
    assert flood.answers(wait=KEEPALIVE_TIMEOUT + 10) == {"closed": 100}


@pytest.mark.floods
def test_never_ending_headers_are_cut_and_memory_stays_bounded(
    gateway: GatewayProcess, flood: SocketFlood
) -> None:
    flood.open(500, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
    flood.flood_headers(per_socket=1_000_000)
    outcome = flood.answers(wait=10)
    # 431 then closed; a reset can beat the 431 to a client still writing: never left open.
    assert set(outcome) <= {"431", "closed"}, outcome
    assert outcome.get("431", 0) > 0
    _legitimate_mutation_succeeds(gateway)
    assert gateway.peak_rss_mib() < RSS_BOUND_MIB
    assert gateway.rss_mib() < RSS_BOUND_MIB


@pytest.mark.floods
def test_aborted_uploads_are_not_server_errors(gateway: GatewayProcess, flood: SocketFlood) -> None:
    flood.open(100, SLOW_BODY)
    flood.abort()  # reset mid-upload
    _legitimate_mutation_succeeds(gateway)
    status, metrics, _ = gateway.request(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200
    assert b'code="INTERNAL_SERVER_ERROR"' not in metrics
    log = gateway.log_text()
    assert "Traceback" not in log
    assert " ERROR " not in log


def test_quick_flood_slow_bodies_and_slowloris_lock_nobody_out(
    gateway: GatewayProcess, flood: SocketFlood
) -> None:
    """The quick variant for `make test`: 60 of each, a legitimate request, all cut in time."""
    flood.open(30, SLOW_BODY)
    flood.open(30, SLOWLORIS)
    _legitimate_mutation_succeeds(gateway)
    status, _, _ = gateway.request(post(b'{"query": "{ __typename }"}'))
    assert status == 200
    assert flood.answers(wait=BODY_TIMEOUT + 10) == {"408": 60}
    assert "Traceback" not in gateway.log_text()
