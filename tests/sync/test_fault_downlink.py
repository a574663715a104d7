"""Fault 7: every downlink message duplicated and reordered; events still apply exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, central_config
from tests.fakes.mqtt_chaos import ChaosProxy
from tests.sync.checks import assert_converged


@pytest.fixture
async def central(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    central = Central(central_config(dsn, broker, page_size=7))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


async def test_duplicated_and_reordered_downlink(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    chaos = ChaosProxy("127.0.0.1", broker.port)
    await chaos.start()
    a = Node("node-a", tmp_path / "a", broker, catchup_page=7)
    b = Node("node-b", tmp_path / "b", broker)
    c = Node("node-c", tmp_path / "c", broker)
    await broker.reload()
    try:
        await b.start()
        # node-c writes before node-a is there: node-a gets those by (chaotic) catch-up pages.
        await c.start()
        for i in range(25):
            await c.scan(i)
        await a.start(port=chaos.port)
        for i in range(40):
            await a.scan(i)
            await b.scan(i)
        await assert_converged(dsn, [a, b, c], 105)
        assert chaos.publishes > 10
        applied_ids = [e.event_id for e in a.applied]
        assert len(applied_ids) == len(set(applied_ids)) == 65
        assert {e.origin for e in a.applied} == {"node-b", "node-c"}
    finally:
        for node in (a, b, c):
            await node.stop()
        await chaos.close()
