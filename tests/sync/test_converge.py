"""Nodes and central converge through a real broker: zero loss, zero duplicates, one checksum."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.broker import Broker
from tests.fakes.harness import Node
from tests.sync.checks import assert_converged


async def test_two_nodes_converge(tmp_path: Path, dsn: str, broker: Broker, central) -> None:
    a = Node("node-a", tmp_path / "a", broker)
    b = Node("node-b", tmp_path / "b", broker)
    await broker.reload()
    try:
        await a.start()
        await b.start()
        for i in range(30):
            await a.scan(i)
            await b.scan(i)
        await assert_converged(dsn, [a, b], 60)
        assert len(a.applied) == 30 and len(b.applied) == 30
        assert a.statuses[-1]["connected"] and a.statuses[-1]["outbox_depth"] == 0
    finally:
        await a.stop()
        await b.stop()
