"""Where the gateway listens: the socket bound before start-up, and a URL a person can open.

Binding first means a busy port fails the start before any banner or "startup complete" line.
Standard library only: the image's HEALTHCHECK (`gateway.healthcheck`) uses `local_address`.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["PortUnavailableError", "bind", "browsable_url", "local_address", "wildcard"]

_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104  # the mapping


class PortUnavailableError(Exception):
    """The host/port cannot be bound; the message says which and why, in plain words."""


def wildcard(host: str) -> bool:
    """Whether `host` means every interface (then no URL with it in works in a browser)."""
    return host.strip("[]") in _WILDCARDS


def local_address(host: str) -> str:
    """The address a client on this machine connects to when the server binds `host`."""
    bare = host.strip("[]")
    return _WILDCARDS.get(bare, bare)


def browsable_url(host: str, port: int, path: str = "") -> str:
    """`http://host:port/path` with a wildcard host replaced by loopback, IPv6 in brackets."""
    address = local_address(host)
    if ":" in address:
        address = f"[{address}]"
    return f"http://{address}:{port}{path}"


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not yet listening), as uvicorn would bind it.

    Raises `PortUnavailableError` naming the port and the likely cause.
    """
    bare = host.strip("[]")
    family = socket.AF_INET6 if ":" in bare else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As uvicorn: a restart must not wait for the old process's TIME_WAIT connections.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((bare, port))
    except OSError as error:
        sock.close()
        raise PortUnavailableError(_explain(bare, port, error)) from None
    sock.set_inheritable(True)
    return sock


def _explain(host: str, port: int, error: OSError) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {where}: the port is already in use (another gateway still "
            "running?). Stop it or choose another port with --port / GATEWAY_PORT."
        )
    if error.errno == errno.EACCES:
        return (
            f"cannot listen on {where}: permission denied (ports below 1024 need privileges). "
            "Choose a port above 1024 with --port / GATEWAY_PORT."
        )
    if error.errno == errno.EADDRNOTAVAIL or isinstance(error, socket.gaierror):
        return (
            f"cannot listen on {where}: no such address on this machine. "
            "Check --host / GATEWAY_HOST."
        )
    return f"cannot listen on {where}: {error.strerror or error}"
