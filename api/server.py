"""uvicorn's HTTP protocols with TCP_NODELAY always on.

With ``--workers N`` uvicorn binds the listening socket itself as
``socket.socket(AF_INET, SOCK_STREAM)``, protocol number 0, and asyncio only turns
Nagle's algorithm off for sockets whose protocol is ``IPPROTO_TCP``. Responses written
in two parts then waited for the client's delayed ACK: 40-48 ms per request instead of
4 ms, measured with one client against two workers (bench/bench_api.py). One worker is
not affected (asyncio makes that socket itself), but setting the option is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """The C parser (``httptools``, with ``uvloop`` as the event loop) is what uvicorn
    picks by itself when both are installed; with ``--workers`` the protocol class is
    named explicitly, so it has to be this one."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        _no_delay(transport)
        super().connection_made(transport)  # type: ignore[arg-type]


def http_protocol() -> type[asyncio.Protocol]:
    """httptools when installed (a dependency; about 0.2 ms less per request than h11)."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return NoDelayH11Protocol
    return NoDelayHttpToolsProtocol
