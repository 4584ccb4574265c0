"""The HTTP protocol the service runs under uvicorn: uvicorn's httptools protocol with Nagle's algorithm off,
on uvloop's event loop where uvloop is installed (not on Windows). The h11 variant is kept for tools that
run uvicorn with its pure-Python protocol.

httptools parses HTTP in C and uvloop runs the event loop in C; both are uvicorn's "standard" extras, and
on a 10-line claim they take about a millisecond of CPU off every request (measured with
``benchmarks/bench_serving.py``), which is CPU the scorer gets back when requests queue.

With ``--workers`` above 1, uvicorn binds the listening socket itself and leaves its ``proto`` at 0;
accepted connections inherit it, and asyncio only turns ``TCP_NODELAY`` on for sockets that say
``IPPROTO_TCP``. Nagle's algorithm then holds the end of each response on a keep-alive connection until
the client's delayed ACK, about 40 ms on Linux (measured here: ``/healthz`` 44 ms a request with 2
workers, 0.9 ms with 1; reported upstream as Kludex/uvicorn#3149). Billing systems keep their connections
open, so every request paid it. This protocol sets ``TCP_NODELAY`` on each connection itself.

With several workers, uvicorn also hands every worker the same listening socket, and whichever worker wakes
first accepts a whole burst of new connections: 16 keep-alive connections opened together were split 15/1,
14/2 or 11/5 between two workers (counted with ``ss``), for the life of the connections; the loaded worker
answered twice as slowly and the pair served half the claims a second. :class:`ReusePortListener` gives each
worker a listening socket of its own on the same address (``SO_REUSEPORT``), and the kernel spreads new
connections over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
import sys
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = [
    "NoDelayH11Protocol",
    "NoDelayHttpToolsProtocol",
    "ReusePortListener",
    "disable_nagle",
    "loop_name",
    "reuse_port_supported",
]


def disable_nagle(transport: asyncio.BaseTransport) -> None:
    """Turn ``TCP_NODELAY`` on for the transport's TCP socket (nothing for other sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # the peer may already be gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with ``TCP_NODELAY`` on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        disable_nagle(transport)
        super().connection_made(transport)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with ``TCP_NODELAY`` on every connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        disable_nagle(transport)
        super().connection_made(transport)


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def _bind_sharing_port(sock: socket.socket, address: Any) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)


def _own_listener(family: int, address: Any) -> socket.socket:
    """A new socket bound to ``address`` with ``SO_REUSEPORT`` (made in the worker, when it unpickles)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    _bind_sharing_port(sock, address)
    sock.set_inheritable(True)
    return sock


class ReusePortListener(socket.socket):
    """The supervisor's socket: bound with ``SO_REUSEPORT`` (so the address is taken) but never listening,
    so no connection waits on it. uvicorn passes its sockets to each worker it starts (and restarts) by
    pickling them; this one unpickles as a new socket bound to the same address, which the worker's server
    then listens on: one accept queue per worker, filled by the kernel."""

    @classmethod
    def bind_to(cls, host: str, port: int) -> ReusePortListener:
        """Bound to ``(host, port)``; ``OSError`` if anything holds the address already. ``SO_REUSEPORT``
        alone would let a second service started on the same port share it silently (connections split
        between the two): a plain bind first proves the address free (and picks the port for port 0)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            port = probe.getsockname()[1]
        sock = cls(family, socket.SOCK_STREAM)
        _bind_sharing_port(sock, (host, port))
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        return (_own_listener, (int(self.family), self.getsockname()))


def loop_name() -> str:
    """uvicorn's ``loop`` setting: uvloop when installed, else asyncio's own loop."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
