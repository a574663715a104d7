"""Fault 8: bad input from a node never reaches the events table; each reject has a reason."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from appliance.sync.mqtt import Inbound, MqttConnection, MqttSettings, NotConnected
from appliance.sync.protocol import Ack, Batch, Topics, decode
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.events import EventFactory
from tests.fakes.harness import Node, central_config, until
from tests.sync.checks import assert_converged

LIMIT = 16 * 1024


@pytest.fixture
async def central(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    central = Central(central_config(dsn, broker, max_payload_bytes=LIMIT))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


async def test_bad_input_lands_in_dead_letter_or_quarantine(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    rogue = broker.add_node("node-x")
    honest = Node("node-b", tmp_path / "b", broker)
    await broker.reload()
    topics = Topics(broker.household)
    acks: list[Ack] = []

    async def on_message(message: Inbound) -> None:
        acks.append(Ack.parse(decode(message.payload)))

    raw = MqttConnection(
        MqttSettings(
            "127.0.0.1",
            broker.port,
            "rogue-x",
            username=rogue.username,
            password=rogue.password,
            subscriptions=[(topics.ack("node-x"), 1)],
        ),
        on_message,
    )
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        raw.start()
        await honest.start()
        assert await raw.wait_connected(10)
        for i in range(5):
            await honest.scan(i)
        x = EventFactory("node-x")
        good = x.product("Milk")
        forged = good.to_dict() | {"data": {"fields": {"name": "Poison"}}}
        future = x.product("Bread").to_dict() | {"v": 2}
        foreign = EventFactory("node-b", seq=1000).product("Tea").to_dict()
        own_topic = topics.events("node-x")
        await raw.publish(own_topic, Batch("b1", [good.to_dict()]).to_bytes())
        await until(lambda: len(acks) == 1, 10, "the good batch's ack")
        # Denied by the ACL (node-x may write only its own topics): never delivered.
        with contextlib.suppress(NotConnected):
            await raw.publish(topics.events("node-b"), Batch("b2", [foreign]).to_bytes())
        await raw.publish(own_topic, b'{"v": 1, "batch_id": "b3", "events": [')
        await raw.publish(own_topic, Batch("b4", [future, forged, foreign]).to_bytes())
        await raw.publish(own_topic, json.dumps({"v": 7, "batch_id": "b5"}).encode())
        await raw.publish(own_topic, b"[" + b" " * LIMIT + b"]")

        async def all_rejected() -> bool:
            return await pool.fetchval("SELECT count(*) FROM dead_letter") >= 5

        await until(all_rejected, 10, "dead letters")
        # The honest node and central agree (central also holds node-x's one good event).
        await assert_converged(dsn, [honest], 6, rejects_expected=True)

        reasons = [r["reason"] for r in await pool.fetch("SELECT reason FROM dead_letter")]
        text = " | ".join(reasons)
        assert "malformed JSON" in text
        assert "schema version 2" in text
        assert "does not match the node topic 'node-x'" in text
        assert "unknown protocol version 7" in text
        assert any(r.startswith("oversized payload") for r in reasons)
        quarantined = await pool.fetch("SELECT event_id, reason, topic FROM quarantine")
        assert [(q["event_id"], q["topic"]) for q in quarantined] == [(good.event_id, own_topic)]
        assert "different payload" in quarantined[0]["reason"]
        origins = {
            r["origin"]: r["n"]
            for r in await pool.fetch("SELECT origin, count(*) AS n FROM events GROUP BY origin")
        }
        assert origins == {"node-x": 1, "node-b": 5}
        await until(lambda: any(a.batch_id == "b4" for a in acks), 10, "the ack of b4")
        b4 = next(a for a in acks if a.batch_id == "b4")
        assert b4.accepted == []
        assert {e for e, _ in b4.rejected} == {
            future["event_id"],
            good.event_id,
            foreign["event_id"],
        }
        name = await pool.fetchval(
            "SELECT view->>'name' FROM entities WHERE id = $1", good.entity_id
        )
        assert name == "Milk"
    finally:
        await raw.close()
        await honest.stop()
        await pool.close()
