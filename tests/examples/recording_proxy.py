"""A loopback TCP proxy that records every byte a client sends: what is on the wire, exactly.

The storefront test puts it between Node and the gateway to prove that Apollo Client sends
document ids only: the assertion reads the bytes that crossed the socket, not what a library
says it sent.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

__all__ = ["RecordingProxy", "recording_proxy"]


class RecordingProxy:
    """Bytes received from clients, in arrival order (all connections together)."""

    def __init__(self) -> None:
        self._sent = bytearray()
        self._lock = threading.Lock()

    @property
    def sent(self) -> bytes:
        with self._lock:
            return bytes(self._sent)

    def record(self, chunk: bytes) -> None:
        with self._lock:
            self._sent += chunk


@contextmanager
def recording_proxy(target_port: int) -> Iterator[tuple[str, RecordingProxy]]:
    """(`http://127.0.0.1:<port>`, recorder) while the proxy forwards to `target_port`."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    recorder = RecordingProxy()
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket, record: bool) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                if record:
                    recorder.record(chunk)
                sink.sendall(chunk)
        for end in (source, sink):  # one side closed: close the other direction too
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def connection(client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", target_port)) as upstream:
            back = threading.Thread(target=pump, args=(upstream, client, False), daemon=True)
            back.start()
            pump(client, upstream, True)
            back.join(timeout=30)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=connection, args=(client,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", recorder
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
