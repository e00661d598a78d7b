"""A real `redis-server` for the tests: started on a free loopback port, stopped by PID.

No persistence (`--save ''`, `--appendonly no`): each server starts empty and leaves nothing
behind. Without the Debian package the Redis tests skip, except where CI_REQUIRE_REDIS=1
(.ci/run sets it, after installing `redis-server`), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import free_port

__all__ = ["RedisServer", "redis_server"]

REQUIRED = os.environ.get("CI_REQUIRE_REDIS") == "1"


class RedisServer:
    """One redis-server process we own; `stop()` and `start()` again on the same port."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis://127.0.0.1:<port>/0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start and wait until it accepts connections (10 s at most)."""
        self.process = subprocess.Popen(  # noqa: S603  # a fixed binary, our own arguments
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop our process (by its PID) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty Redis for one test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRED:
            pytest.fail("CI_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("needs redis-server (Debian package redis-server; .ci/run installs it)")
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
