"""Raw-socket clients that connect and stall, for the connection-limit tests."""

from __future__ import annotations

import asyncio
import socket

#: Half a request head: the request line and one header, never finished.
HALF_HEAD = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stalled: "


async def open_stalled(
    port: int, sources: list[str], count: int, payload: bytes = HALF_HEAD
) -> list[socket.socket]:
    """``count`` connections spread over ``sources``, each sending ``payload`` and no more."""
    loop = asyncio.get_running_loop()

    async def one(i: int) -> socket.socket:
        sock = socket.socket()
        sock.setblocking(False)
        sock.bind((sources[i % len(sources)], 0))
        try:
            await loop.sock_connect(sock, ("127.0.0.1", port))
            if payload:
                await loop.sock_sendall(sock, payload)
        except OSError:  # refused at once: the node already closed it
            pass
        return sock

    socks: list[socket.socket] = []
    for start in range(0, count, 100):
        socks += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 100))))
    return socks


async def closed_by_peer(sock: socket.socket) -> bytes:
    """Wait until the node closes ``sock``; return what it sent before closing."""
    loop = asyncio.get_running_loop()
    received = b""
    while True:
        try:
            chunk = await loop.sock_recv(sock, 65536)
        except OSError:
            return received
        if not chunk:
            return received
        received += chunk


def close_all(socks: list[socket.socket]) -> None:
    """Close the test's side of every socket."""
    for sock in socks:
        sock.close()
