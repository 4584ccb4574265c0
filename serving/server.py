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
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["NoDelayH11Protocol", "NoDelayHttpToolsProtocol", "disable_nagle", "loop_name"]


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


def loop_name() -> str:
    """uvicorn's ``loop`` setting: uvloop when installed, else asyncio's own loop."""
    return "uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio"
