"""Faults 4 and 5: central dies between commit and ack; PostgreSQL unreachable for a while."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from appliance.store import Store
from central.app import Central
from central.service import FAULT_ENV
from tests.fakes.broker import Broker
from tests.fakes.harness import CentralProcess, Node, central_config, until, write_central_config
from tests.fakes.tcp_proxy import TcpProxy
from tests.sync.checks import assert_converged

DEATHS = 5


async def _write_until(nodes: list[Node], stop: asyncio.Event, pause: float) -> int:
    """Scan on every node until ``stop``; return how many events were written."""

    async def one(node: Node) -> int:
        i = 0
        while not stop.is_set():
            await node.scan(i)
            i += 1
            await asyncio.sleep(pause)  # ok: paces the scans while central is killed
        return i

    return sum(await asyncio.gather(*(one(n) for n in nodes)))


async def test_central_killed_between_commit_and_ack(
    tmp_path: Path, dsn: str, broker: Broker
) -> None:
    config_file = write_central_config(tmp_path / "central.toml", central_config(dsn, broker))
    central = CentralProcess(config_file, tmp_path / "central.log")
    nodes = [Node(f"node-{c}", tmp_path / c, broker, ack_timeout=1.0) for c in "ab"]
    await broker.reload()
    deaths = 0
    try:
        for node in nodes:
            await node.start()
        # Half of the commits end with the process dying (os._exit) before it streams or acks.
        central.start(**{FAULT_ENV: "0.5"})
        stop = asyncio.Event()
        writing = asyncio.create_task(_write_until(nodes, stop, 0.02))
        while deaths < DEATHS:
            await until(lambda: not central.alive, 30, f"central death {deaths + 1}")
            deaths += 1
            central.start(**({FAULT_ENV: "0.5"} if deaths < DEATHS else {}))
        stop.set()
        written = await writing
        await assert_converged(dsn, nodes, written, within=60)
    finally:
        central.kill()
        for node in nodes:
            await node.stop()
    log = (tmp_path / "central.log").read_text()
    assert log.count("fault injection: dying between commit and ack") == DEATHS


class AckRecordingStore(Store):
    """The real store, noting every id central acknowledged (instrumentation, not a fake)."""

    acked: ClassVar[list[str]] = []

    async def outbox_ack(self, event_ids: list[str]) -> int:
        AckRecordingStore.acked.extend(event_ids)
        return await super().outbox_ack(event_ids)


def _through(dsn: str, port: int) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{port}"))


async def test_postgres_unreachable_central_acks_nothing_uncommitted(
    tmp_path: Path, dsn: str, broker: Broker
) -> None:
    parts = urlsplit(dsn)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    AckRecordingStore.acked.clear()
    nodes = [
        Node(f"node-{c}", tmp_path / c, broker, store_class=AckRecordingStore, ack_timeout=0.5)
        for c in "ab"
    ]
    await broker.reload()
    central = Central(central_config(_through(dsn, proxy.port), broker))
    direct = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        await central.start()
        for node in nodes:
            await node.start()
        for i in range(10):
            for node in nodes:
                await node.scan(i)
        await assert_converged(dsn, nodes, 20)

        proxy.cut()
        for i in range(10, 25):
            for node in nodes:
                await node.scan(i)
        # Several ack timeouts pass: the nodes resend, central cannot commit and acks nothing.
        deadline = asyncio.get_running_loop().time() + 3.0
        while asyncio.get_running_loop().time() < deadline:
            committed = {
                r["event_id"] for r in await direct.fetch("SELECT event_id::text FROM events")
            }
            assert set(AckRecordingStore.acked) <= committed
            await asyncio.sleep(0.2)  # ok: samples over the outage, waits for no result
        assert await direct.fetchval("SELECT count(*) FROM events") == 20
        assert [await n.outbox_depth() for n in nodes] == [15, 15]

        proxy.restore()
        await assert_converged(dsn, nodes, 50)
        committed = {r["event_id"] for r in await direct.fetch("SELECT event_id::text FROM events")}
        assert set(AckRecordingStore.acked) == committed
    finally:
        for node in nodes:
            await node.stop()
        await central.close()
        await direct.close()
        await proxy.close()
