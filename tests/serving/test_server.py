"""The HTTP protocol under uvicorn: Nagle's algorithm off on every connection, however the socket was made."""

from __future__ import annotations

import asyncio
import inspect
import socket

from serving.server import NoDelayH11Protocol, disable_nagle


class _Transport(asyncio.BaseTransport):
    def __init__(self, sock: socket.socket | None) -> None:
        super().__init__()
        self.sock = sock

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.sock if name == "socket" else default


def test_connections_accepted_from_a_uvicorn_style_listener_get_tcp_nodelay() -> None:
    # uvicorn's multi-worker listener: socket.socket(family) leaves proto 0, and accepted sockets inherit it,
    # so asyncio does not set TCP_NODELAY on them (Kludex/uvicorn#3149)
    with socket.socket(socket.AF_INET) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.proto == 0
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                disable_nagle(_Transport(accepted))
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_sockets_without_tcp_are_left_alone() -> None:
    disable_nagle(_Transport(None))  # e.g. a transport without a socket
    left, right = socket.socketpair()  # AF_UNIX: no TCP options to set
    with left, right:
        disable_nagle(_Transport(left))


def test_the_service_protocol_is_uvicorns_h11_with_the_fix() -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    assert issubclass(NoDelayH11Protocol, H11Protocol)
    assert NoDelayH11Protocol.connection_made is not H11Protocol.connection_made


def test_the_service_serves_with_httptools_and_uvloop_when_installed() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from serving.server import NoDelayHttpToolsProtocol, loop_name
    from training.cli import serve_command

    assert issubclass(NoDelayHttpToolsProtocol, HttpToolsProtocol)
    assert "NoDelayHttpToolsProtocol" in inspect.getsource(serve_command)  # what `denials serve` runs
    assert NoDelayHttpToolsProtocol.connection_made is not HttpToolsProtocol.connection_made
    assert loop_name() == "uvloop"  # a dependency of the project on Linux and macOS
