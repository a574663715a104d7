"""A node's info, scan and command topics against a real Mosquitto with production ACLs.

Home Assistant's login (``kitchen-central ha add``) commands a station's mode and undoes its
last scan; the node applies both through its services (WebSocket, HTTP API and the retained
info agree); garbage on the command topics is refused with a reason, never a crash; only
central and Home Assistant may write there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from appliance.sync.mqtt import NotConnected
from appliance.sync.node_protocol import SCAN_RESULTS
from central.credentials import NodeCredentials
from tests.fakes.broker import Broker
from tests.fakes.mqtt_client import Client
from tests.fakes.sync_node import Node, running_node
from tests.fakes.ws import next_message

EAN = "4006381333931"
BASE = "kitchen/v1/home/node/node-a"
INFO_KEYS = {"v", "node", "version", "outbox", "last_scan", "stations", "uptime_s"}


@pytest.fixture
async def ha_login(broker: Broker) -> NodeCredentials:
    """Home Assistant's broker login."""
    creds = broker.add_ha()
    await broker.reload()
    return creds


@pytest.fixture
async def node(tmp_path: Path, broker: Broker, ha_login: NodeCredentials) -> AsyncIterator[Node]:
    """Node ``node-a``."""
    async with running_node("node-a", tmp_path / "node-a", broker) as node:
        yield node


@pytest.fixture
async def ha(broker: Broker, ha_login: NodeCredentials, node: Node) -> AsyncIterator[Client]:
    """A client with Home Assistant's login, reading the node's topics."""
    async with Client(ha_login, broker.port, [f"{BASE}/info", f"{BASE}/scan"]) as client:
        yield client


def _station(info: dict[str, Any], station: str = "kitchen") -> dict[str, Any]:
    return next(s for s in info["stations"] if s["id"] == station)


async def test_info_is_retained_with_the_agreed_shape(
    broker: Broker, ha_login: NodeCredentials, node: Node, ha: Client
) -> None:
    info = await ha.next_json(f"{BASE}/info")
    assert set(info) >= INFO_KEYS
    assert info["v"] == 1 and info["node"] == "node-a" and info["version"]
    assert info["last_scan"] is None
    assert _station(info) == {"id": "kitchen", "name": "kitchen", "mode": "add"}
    assert isinstance(info["uptime_s"], int) and isinstance(info["outbox"], int)
    # A late subscriber (HA starting, central's Nodes page) gets it at once.
    async with Client(ha_login, broker.port, [f"{BASE}/info"]) as late:
        assert (await late.next(f"{BASE}/info")).retain


async def test_a_scan_is_published_and_becomes_the_last_scan(node: Node, ha: Client) -> None:
    await ha.next_json(f"{BASE}/info")
    response = await node.client.post(
        "/api/scanner/scan", json={"code": EAN, "station_id": "kitchen"}, headers=node.auth
    )
    assert response.status == 200, await response.text()

    scan = await ha.next_json(f"{BASE}/scan")
    assert scan["v"] == 1
    assert scan["station"] == "kitchen" and scan["mode"] == "add" and scan["code"] == EAN
    assert scan["result"] == scan["event_type"] == "added"
    assert scan["event_type"] in SCAN_RESULTS
    assert not next(m for m in ha.received if m.topic == f"{BASE}/scan").retain
    info = await ha.next_json(f"{BASE}/info", lambda v: v["last_scan"] is not None)
    assert info["last_scan"]["station"] == "kitchen"
    assert info["last_scan"]["code"] == EAN
    assert set(info["last_scan"]) >= {"at", "station", "code", "product"}
    assert info["outbox"] >= 1  # no central here: the purchase waits in the outbox


async def test_home_assistant_switches_a_station_mode(node: Node, ha: Client) -> None:
    await ha.next_json(f"{BASE}/info")
    ws = await node.client.ws_connect("/api/ws", headers=node.auth)
    try:
        await ha.publish(f"{BASE}/cmd/station/kitchen/mode", "consume")
        changed = await next_message(ws, "scanner.mode")
    finally:
        await ws.close()
    assert changed["data"]["station_id"] == "kitchen"
    assert changed["data"]["mode"] == "consume"
    info = await ha.next_json(f"{BASE}/info", lambda v: _station(v)["mode"] == "consume")
    assert info["commands"]["accepted"] == 1
    response = await node.client.get("/api/scanner/mode?station_id=kitchen", headers=node.auth)
    assert (await response.json())["mode"] == "consume"


async def test_the_undo_button_withdraws_the_last_scan(node: Node, ha: Client) -> None:
    response = await node.client.post(
        "/api/scanner/scan", json={"code": EAN, "station_id": "kitchen"}, headers=node.auth
    )
    assert response.status == 200
    await ha.next_json(f"{BASE}/info", lambda v: v["last_scan"] is not None)

    await ha.publish(f"{BASE}/cmd/station/kitchen/undo", "PRESS")

    info = await ha.next_json(f"{BASE}/info", lambda v: (v["last_scan"] or {}).get("undone"))
    assert info["commands"] == {"accepted": 1, "rejected": 0, "last_rejected": None}
    lots = await (await node.client.get("/api/inventory", headers=node.auth)).json()
    assert lots["items"] == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("cmd/station/kitchen/mode", "explode", "unknown mode 'explode'"),
        ("cmd/station/kitchen/mode", b"\xff\xfe", "not UTF-8"),
        ("cmd/station/kitchen/mode", "a" * 1000, "oversized command"),
        ("cmd/station/nowhere/mode", "add", "unknown station 'nowhere'"),
        ("cmd/station/kitchen/undo", "now please", "undo takes no argument"),
        ("cmd/station/kitchen/undo", "", "nothing to undo"),
        ("cmd/station/kitchen/reboot", "", "unknown command topic"),
        ("cmd/mode", "add", "unknown command topic"),
        ("cmd/station/bad%20id/mode", "add", "station must be"),
    ],
)
async def test_garbage_on_command_topics_is_refused_with_a_reason(
    node: Node, ha: Client, topic: str, payload: str | bytes, reason: str
) -> None:
    await ha.next_json(f"{BASE}/info")
    await ha.publish(f"{BASE}/{topic}", payload)
    info = await ha.next_json(f"{BASE}/info", lambda v: v["commands"]["rejected"] == 1)
    assert reason in info["commands"]["last_rejected"]["reason"]
    assert info["commands"]["last_rejected"]["topic"] == f"{BASE}/{topic}"
    # The node goes on taking commands and scans.
    await ha.publish(f"{BASE}/cmd/station/kitchen/mode", "lookup")
    await ha.next_json(f"{BASE}/info", lambda v: _station(v)["mode"] == "lookup")
    health = await node.client.get("/api/health")
    assert health.status == 200


async def test_a_retained_command_is_not_carried_out_at_connect(
    tmp_path: Path, broker: Broker, ha_login: NodeCredentials
) -> None:
    # Left retained on the broker (a misconfigured automation), a command would be carried out
    # again at every reconnect: the node refuses what the broker replays.
    base = "kitchen/v1/home/node/node-c"
    async with Client(ha_login, broker.port, [f"{base}/info"]) as ha:
        await ha.publish(f"{base}/cmd/station/kitchen/mode", "consume", retain=True)
        async with running_node("node-c", tmp_path / "node-c", broker):
            info = await ha.next_json(f"{base}/info", lambda v: v["commands"]["rejected"] == 1)
        await ha.publish(f"{base}/cmd/station/kitchen/mode", b"", retain=True)  # clear it
    assert "retained" in info["commands"]["last_rejected"]["reason"]
    assert _station(info)["mode"] == "add"


async def test_only_central_and_home_assistant_may_command_a_node(
    broker: Broker, node: Node, ha: Client
) -> None:
    other = broker.add_node("node-b")
    await broker.reload()
    await ha.next_json(f"{BASE}/info")
    async with Client(other, broker.port, []) as intruder:
        with pytest.raises(NotConnected, match="refused"):
            await intruder.publish(f"{BASE}/cmd/station/kitchen/mode", "consume")
        with pytest.raises(NotConnected, match="refused"):
            await intruder.publish(f"{BASE}/info", "{}")
    with pytest.raises(NotConnected, match="refused"):  # HA commands, it is no node
        await ha.publish(f"{BASE}/events", "{}")
    async with Client(broker.central, broker.port, []) as central:
        await central.publish(f"{BASE}/cmd/station/kitchen/mode", "spoiled")
    info = await ha.next_json(f"{BASE}/info", lambda v: _station(v)["mode"] == "spoiled")
    assert info["commands"]["accepted"] == 1
    assert info["commands"]["rejected"] == 0


async def test_home_assistant_reads_no_sync_traffic(
    broker: Broker, ha_login: NodeCredentials
) -> None:
    node = broker.add_node("node-z")
    await broker.reload()
    base = "kitchen/v1/home/node/node-z"
    topics = [f"{base}/events", f"{base}/sync/req", f"{base}/status"]
    async with Client(ha_login, broker.port, topics) as ha, Client(node, broker.port, []) as z:
        await z.publish(f"{base}/events", '{"v": 1, "batch_id": "x", "events": []}')
        await z.publish(f"{base}/sync/req", "{}")
        # One publisher's QoS 1 messages arrive in order: once the status is there, the two
        # before it would have been too, had the ACL let HA read them.
        await z.publish(f"{base}/status", "online")
        await ha.next(f"{base}/status")
        await z.publish(f"{base}/status", b"", retain=True)
    assert {m.topic for m in ha.received} == {f"{base}/status"}
