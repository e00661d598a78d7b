"""A real gateway process and hostile clients over raw sockets (shared with bench/slow_clients.py).

The gateway runs as `python -m gateway` on a free loopback port (embedded sandbox backend),
stopped by its PID; the clients open hundreds of sockets that hold it the ways issue 12
lists: headers plus one body byte, headers trickled byte by byte (slowloris), idle
connections, never-ending headers, uploads aborted midway.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "GatewayProcess",
    "SocketFlood",
    "gateway_process",
]

ROOT = Path(__file__).resolve().parents[2]
_COLLECTION = re.compile(r"paymentCollectionId:\s+(\S+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class GatewayProcess:
    """A started `python -m gateway`: its PID, port and log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    collection_id: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def _tree(self) -> list[int]:
        """The process and its children (granian runs the app in a child process)."""
        pids = [self.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[1]) == self.pid:
                        pids.append(int(entry.name))
        return pids

    def status_kib(self, key: str) -> int:
        """A /proc/<pid>/status figure in KiB, summed over the process and its children.

        VmRSS: now; VmHWM: each process's peak so far (their sum bounds the tree's peak).
        """
        total = 0
        for pid in self._tree():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith(key + ":"):
                        total += int(line.split()[1])
        return total

    def rss_mib(self) -> float:
        """Resident memory now, MiB."""
        return self.status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        """Peak resident memory so far (VmHWM), MiB."""
        return self.status_kib("VmHWM") / 1024

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def request(self, raw: bytes, timeout: float = 30.0) -> tuple[int, bytes, float]:
        """Send one raw request on a new connection: (status, body, seconds)."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(raw)
            answer = b""
            while b"\r\n\r\n" not in answer or not _complete(answer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        return status, answer.partition(b"\r\n\r\n")[2], time.monotonic() - started

    def mutation(self, timeout: float = 30.0) -> tuple[int, bytes, float]:
        """A legitimate createPaymentSession on the sandbox's demo collection."""
        query = (
            "mutation($input: CreatePaymentSessionInput!) { createPaymentSession(input: $input)"
            " { paymentSession { id status } } }"
        )
        variables = {
            "input": {"paymentCollectionId": self.collection_id, "providerId": "pp_system_default"}
        }
        body = json.dumps({"query": query, "variables": variables}).encode()
        return self.request(post(body), timeout)


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    match = re.search(rb"(?i)content-length:\s*(\d+)", head)
    return match is not None and len(body) >= int(match.group(1))


def post(body: bytes, path: str = "/graphql") -> bytes:
    """A complete POST request carrying `body` as JSON."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    return head + body


@contextlib.contextmanager
def gateway_process(
    log_dir: Path, command: Sequence[str] = (), **settings: object
) -> Iterator[GatewayProcess]:
    """`python -m gateway` with GATEWAY_<NAME>=value for each setting; stopped by PID.

    `command` replaces `python -m gateway` (bench/slow_clients.py --granian); `{port}` in it
    is the port picked.
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("GATEWAY_")}
    env.update({f"GATEWAY_{k.upper()}": str(v) for k, v in settings.items()})
    env.update(GATEWAY_HOST="127.0.0.1", GATEWAY_PORT=str(port), GATEWAY_GRAPHIQL="false")
    log = log_dir / f"gateway-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  # our interpreter, or the bench's command
            [part.format(port=port) for part in command] or [sys.executable, "-m", "gateway"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    gateway = GatewayProcess(process, port, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the gateway exited:\n{gateway.log_text()}"
            with contextlib.suppress(OSError):
                status, _, _ = gateway.request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 2)
                if status == 200:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the gateway did not start:\n{gateway.log_text()}")
        found = _COLLECTION.search(gateway.log_text())
        gateway.collection_id = found.group(1) if found else ""
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class SocketFlood:
    """Many raw sockets to the gateway, each sent `opening`, then optionally trickled."""

    port: int
    sockets: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def open(self, count: int, opening: bytes) -> None:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            if opening:
                sock.sendall(opening)
            sock.setblocking(False)
            self.sockets.append(sock)

    def trickle(self, data: bytes, interval: float) -> None:
        """In the background, send each socket one more byte of `data` every `interval`."""

        def run() -> None:
            for byte in data:
                if self._stop.wait(interval):
                    return
                for sock in self.sockets:
                    with contextlib.suppress(OSError):
                        sock.send(bytes([byte]))

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def flood_headers(self, per_socket: int, chunk: int = 16_384) -> int:
        """Write up to `per_socket` bytes of one endless header line on each socket.

        Returns the bytes written: into kernel buffers too, not a measure of what was read.
        """
        filler = b"a" * chunk
        total = 0
        for sock in self.sockets:
            sent = 0
            sock.setblocking(True)
            sock.settimeout(2)
            with contextlib.suppress(OSError):
                while sent < per_socket:
                    sock.sendall(filler)
                    sent += chunk
            total += sent
        return total

    def answers(self, wait: float) -> dict[str, int]:
        """How each socket ended within `wait` seconds: `408`, `431`, `closed` or `open`."""
        ended: dict[int, str] = {}
        deadline = time.monotonic() + wait
        while len(ended) < len(self.sockets) and time.monotonic() < deadline:
            for index, sock in enumerate(self.sockets):
                if index in ended:
                    continue
                try:
                    data = sock.recv(256)
                except BlockingIOError:
                    continue
                except OSError:
                    ended[index] = "closed"
                    continue
                if not data:
                    ended[index] = "closed"
                elif data.startswith(b"HTTP/1.1 "):
                    ended[index] = data[9:12].decode()
            time.sleep(0.05)
        outcome: dict[str, int] = {}
        for index in range(len(self.sockets)):
            key = ended.get(index, "open")
            outcome[key] = outcome.get(key, 0) + 1
        return outcome

    def abort(self) -> None:
        """Reset every socket (SO_LINGER 0: an RST, as a client killed mid-upload)."""
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
