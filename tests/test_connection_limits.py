"""Stalled and greedy clients cannot use up a node's connections (issue 8, first finding),
and one that leaves in the middle of a big answer costs no error in the log.

A real node (``build_app`` + ``start_sites``, as ``kitchen-node run`` listens) on loopback;
raw sockets from other loopback addresses (127.0.0.2...) play the attackers, aiohttp from
127.0.0.1 the well-behaved client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from appliance.api.https import Listening, start_sites
from appliance.api.keys import KITCHEN, TOKENS
from appliance.app import build_app
from appliance.config import ConfigError, NodeConfig, build_config
from appliance.core import events as ev
from appliance.core.ids import new_id
from tests.fakes.harness import until
from tests.fakes.ports import free_port
from tests.fakes.stalled import close_all, closed_by_peer, open_stalled

EAN = "4006381333931"
TIMEOUT = 1.0


@pytest.fixture
def descriptors() -> Iterator[None]:
    """Enough descriptors for ~1,100 client sockets and the node's side of them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 4096
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    else:
        yield


class RunningNode:
    """A node listening as in production, with a token for the well-behaved client."""

    def __init__(self, config: NodeConfig, runner: web.AppRunner, listening: Listening) -> None:
        self.config = config
        self.runner = runner
        self.listening = listening
        self.token = ""

    @property
    def port(self) -> int:
        return self.config.tls.port if self.config.tls.enabled else self.config.http.port

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@contextlib.asynccontextmanager
async def running(tmp_path: Path, *, tls: bool = False, **http: Any) -> AsyncIterator[RunningNode]:
    config = build_config(
        {
            "http": {"host": "127.0.0.1", "port": free_port(), **http},
            "storage": {"data_dir": str(tmp_path)},
            "tls": {"enabled": tls, "port": free_port(), "detect_addresses": False},
        }
    )
    runner = web.AppRunner(await build_app(config), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        listening = await start_sites(runner, config)
        try:
            node = RunningNode(config, runner, listening)
            node.token = (await runner.app[TOKENS].create("well-behaved"))[1]
            yield node
        finally:
            await listening.close()
    finally:
        await runner.cleanup()


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_stalled_connections_do_not_stop_health_or_scans(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, descriptors: None
) -> None:
    """1,100 half-sent requests: health and scans keep answering, the stalled are cut in time,
    and the log has a line per interval, not a line per connection."""
    caplog.set_level(logging.INFO)
    sources = [f"127.0.0.{i}" for i in range(2, 32)]  # 30 attackers, ~37 connections each
    limits = {"max_connections": 300, "max_connections_per_client": 32}
    async with running(tmp_path, request_timeout_seconds=TIMEOUT, **limits) as node:
        guard = node.listening.guard
        stalled = await open_stalled(node.port, sources, 1100)
        try:
            stats = guard.stats()
            # Never more open than the limit (plus those shut to make room, closing this turn).
            assert stats["open"] <= 300 + 100, stats
            # Those beyond the limit were shut at once (the longest idle made room for them).
            assert sum(stats["refused"].values()) >= 1100 - 300 - 100, stats
            async with aiohttp.ClientSession(
                f"http://127.0.0.1:{node.port}", timeout=aiohttp.ClientTimeout(total=5)
            ) as session:
                async with session.get("/api/health") as resp:
                    assert resp.status == 200
                scan = {"code": EAN, "station_id": "well-behaved"}
                async with session.post(
                    "/api/scanner/scan", json=scan, headers=node.headers
                ) as resp:
                    assert resp.status == 200, await resp.text()
            # Every stalled connection is closed by the node: refused, shut to make room, or
            # cut when its request did not arrive within the timeout.
            async with asyncio.timeout(TIMEOUT + 10):
                answers = await asyncio.gather(*(closed_by_peer(s) for s in stalled))
            assert all(answer == b"" for answer in answers)
            assert guard.stats()["refused"].get("too slow to send a request", 0) > 0
        finally:
            close_all(stalled)
    assert guard.total == 0 and guard.per_client == {}  # every place given back
    records = warnings_logged(caplog)
    # One line at the first refusal, one summary when the listener closes; nothing per socket.
    assert 1 <= len(records) <= 3, [r.getMessage() for r in records]
    assert not any("Too many open files" in r.getMessage() for r in caplog.records)
    assert "connections refused or cut" in records[0].getMessage()


async def test_one_client_is_held_to_its_own_limit(tmp_path: Path) -> None:
    """One address gets ``max_connections_per_client``; the rest are closed at once."""
    async with running(tmp_path, max_connections_per_client=5, request_timeout_seconds=30) as node:
        stalled = await open_stalled(node.port, ["127.0.0.2"], 12)
        try:
            assert node.listening.guard.per_client == {"127.0.0.2": 5}
            refused = [s for s in stalled if s.fileno() != -1][5:]
            async with asyncio.timeout(5):
                await asyncio.gather(*(closed_by_peer(s) for s in refused))
            url = f"http://127.0.0.1:{node.port}/api/health"
            async with aiohttp.ClientSession() as session, session.get(url) as resp:
                assert resp.status == 200
        finally:
            close_all(stalled)


async def test_a_slow_body_is_answered_408_and_closed(tmp_path: Path) -> None:
    """Headers in time but a body that trickles: the handler's read fails with 408."""
    async with running(tmp_path, request_timeout_seconds=TIMEOUT) as node:
        head = (
            "POST /api/scanner/scan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {node.token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            '{"code": "'
        ).encode()
        (sock,) = await open_stalled(node.port, ["127.0.0.2"], 1, head)
        try:
            async with asyncio.timeout(TIMEOUT + 10):
                answer = await closed_by_peer(sock)
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"application/problem+json" in answer
        assert b"did not arrive within" in answer


async def test_websockets_outlive_the_request_timeout(tmp_path: Path) -> None:
    """A WebSocket is not a request being sent: it stays open past the timeout and delivers,
    and a full node never shuts it to make room."""
    limits = {"max_connections": 8, "max_connections_per_client": 8}
    async with running(tmp_path, request_timeout_seconds=TIMEOUT, **limits) as node:
        base = f"http://127.0.0.1:{node.port}"
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{base}/api/ws", headers=node.headers) as ws,
        ):
            # Stalled connections from many addresses fill the node and push each other out;
            # the last ones are cut at the timeout: our clock.
            sources = [f"127.0.0.{i}" for i in range(2, 22)]
            stalled = await open_stalled(node.port, sources, 20)
            try:
                async with asyncio.timeout(TIMEOUT + 10):
                    await asyncio.gather(*(closed_by_peer(s) for s in stalled))
            finally:
                close_all(stalled)
            refused = node.listening.guard.stats()["refused"]
            assert refused["idle, closed to make room"] >= 20 - 8
            assert refused["too slow to send a request"] >= 1
            scan = {"code": EAN, "station_id": "ipad"}
            async with session.post(
                f"{base}/api/scanner/scan", json=scan, headers=node.headers
            ) as resp:
                assert resp.status == 200
            async with asyncio.timeout(5):
                async for msg in ws:
                    if msg.json().get("type") == "scanner.scan":
                        break
            assert not ws.closed


async def test_the_https_site_limits_connections_before_the_handshake(tmp_path: Path) -> None:
    """TLS: connections that never send a ClientHello count and are cut at the timeout."""
    async with running(
        tmp_path, tls=True, max_connections_per_client=10, request_timeout_seconds=TIMEOUT
    ) as node:
        stalled = await open_stalled(node.port, ["127.0.0.2"], 30, b"")
        try:
            assert node.listening.guard.per_client.get("127.0.0.2") == 10
            async with asyncio.timeout(TIMEOUT + 10):
                await asyncio.gather(*(closed_by_peer(s) for s in stalled))
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            async with aiohttp.ClientSession() as session:
                url = f"https://127.0.0.1:{node.port}/api/health"
                async with session.get(url, ssl=context) as resp:
                    assert resp.status == 200
        finally:
            close_all(stalled)


def test_connection_limits_are_validated() -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(
            {
                "http": {
                    "max_connections": 10,
                    "max_connections_per_client": 20,
                    "request_timeout_seconds": 0,
                    "max_pending_writes": 0,
                }
            }
        )
    keys = {key for key, _ in caught.value.errors}
    assert {"http.request_timeout_seconds", "http.max_pending_writes"} <= keys
    with pytest.raises(ConfigError, match="must not exceed max_connections"):
        build_config({"http": {"max_connections": 10, "max_connections_per_client": 20}})


async def test_a_big_answer_broken_off_by_its_client_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """6 MB of lots (more than a socket's send buffer) are written in parts; a client that
    leaves halfway (an iPad closed mid-list) ends that answer without a logged traceback."""
    async with running(tmp_path) as node:
        store = node.runner.app[KITCHEN].store
        async with store.transaction() as tx:
            for _ in range(12_000):
                await tx.emit(
                    ev.STOCK_PURCHASED, new_id(), {"product_id": new_id(), "amount": 1, "lot": {}}
                )
        server = node.runner.server
        assert server is not None
        request = (
            "GET /api/inventory?limit=12000 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {node.token}\r\n\r\n"
        ).encode()
        for _ in range(3):
            # A small receive window: the answer is still being written when the client goes.
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", node.port))
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(request)
            assert (await reader.readexactly(12)) == b"HTTP/1.1 200"
            writer.transport.abort()  # unread data: the kernel answers with a reset
            await until(lambda: not server.connections, 10, "the broken-off answer to end")
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{node.port}/api/inventory?limit=12000", headers=node.headers
            ) as response,
        ):
            listed = await response.json()
        assert listed["count"] == len(listed["items"]) == 12_000
