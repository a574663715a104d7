"""Home Assistant through MQTT discovery, end to end on a real Mosquitto, PostgreSQL and node.

The "Home Assistant" here is a client with HA's broker login (``kitchen-central ha add``) that
does what HA does with discovery: reads the retained device configs, checks them against HA's
rules, renders their templates on the state messages, and publishes on their command topics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from appliance.sync.mqtt import NotConnected
from central.app import Central
from central.cli import main as central_main
from central.credentials import NodeCredentials
from central.homeassistant.discovery import household_device_id, node_device_id
from tests.fakes.broker import Broker
from tests.fakes.ha_rules import check_device_config, unique_ids
from tests.fakes.harness import central_config, until, write_central_config
from tests.fakes.mqtt_client import Client
from tests.fakes.sync_node import Node, running_node

PREFIX = "homeassistant"
HOUSEHOLD_CONFIG = f"{PREFIX}/device/{household_device_id('home')}/config"
NODE_CONFIG = f"{PREFIX}/device/{node_device_id('home', 'node-a')}/config"
NODE = "kitchen/v1/home/node/node-a"
CENTRAL_STATUS = "kitchen/v1/home/central/status"
STATE = "kitchen/v1/home/central/household"
# GS1: GTIN 04006381333931, use-by (AI 17) 2026-11-20, a date that has passed.
EXPIRED_SCAN = "]d201040063813339311726112010LOT1"
_env = jinja2.Environment(autoescape=False)


def render(template: str, payload: bytes) -> str:
    """A value template rendered as Home Assistant does."""
    return _env.from_string(template).render(value_json=json.loads(payload))


@pytest.fixture
async def ha_login(broker: Broker) -> NodeCredentials:
    """Home Assistant's broker login."""
    creds = broker.add_ha()
    await broker.reload()
    return creds


@pytest.fixture
async def central(dsn: str, broker: Broker, ha_login: NodeCredentials) -> AsyncIterator[Central]:
    """Central with Home Assistant discovery on, states folded over 0.1 s."""
    central = Central(central_config(dsn, broker, homeassistant={"debounce": 0.1}))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


@pytest.fixture
async def node(tmp_path: Path, broker: Broker, central: Central) -> AsyncIterator[Node]:
    """Node ``node-a`` with central."""
    async with running_node("node-a", tmp_path / "node-a", broker) as node:
        yield node


@pytest.fixture
async def ha(broker: Broker, ha_login: NodeCredentials, node: Node) -> AsyncIterator[Client]:
    """Home Assistant: discovery, central's status, the household states, the node's info."""
    topics = [f"{PREFIX}/device/+/config", CENTRAL_STATUS, f"{STATE}/+", f"{NODE}/info"]
    async with Client(ha_login, broker.port, topics) as client:
        yield client


async def _config(ha: Client, topic: str, where: Any = lambda v: True) -> dict[str, Any]:
    return await ha.next_json(topic, where)


def _component(config: dict[str, Any], platform: str, key: str) -> dict[str, Any]:
    component: dict[str, Any] = config["cmps"][key]
    assert component["p"] == platform
    return component


async def test_household_and_node_devices_are_discovered_and_available(
    broker: Broker, ha_login: NodeCredentials, ha: Client, node: Node
) -> None:
    household = await _config(ha, HOUSEHOLD_CONFIG)
    node_config = await _config(ha, NODE_CONFIG)
    assert check_device_config(HOUSEHOLD_CONFIG, household) == []
    assert check_device_config(NODE_CONFIG, node_config) == []
    ids = unique_ids([household, node_config])
    assert len(ids) == len(set(ids))
    await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"online")
    # Retained: a Home Assistant that starts later gets configs and status at once.
    async with Client(
        ha_login, broker.port, [HOUSEHOLD_CONFIG, NODE_CONFIG, CENTRAL_STATUS]
    ) as late:
        for topic in (HOUSEHOLD_CONFIG, NODE_CONFIG, CENTRAL_STATUS):
            assert (await late.next(topic)).retain
    # Every household count is there, retained, before anything happened.
    for key in ("expired", "due_soon", "below_min", "shopping_open", "receipts_review"):
        state = await ha.next(f"{STATE}/{key}")
        assert render(household["cmps"][key]["value_template"], state.payload) == "0"


async def test_a_station_mode_from_home_assistants_select_round_trips(
    ha: Client, node: Node
) -> None:
    config = await _config(ha, NODE_CONFIG)
    select = _component(config, "select", "station_kitchen_mode")
    assert "consume" in select["options"]

    await ha.publish(select["command_topic"], "consume")

    info = await ha.next(
        select["state_topic"],
        lambda m: render(select["value_template"], m.payload) == "consume",
    )
    assert json.loads(info.payload)["commands"]["accepted"] == 1
    answer = await node.client.get("/api/scanner/mode?station_id=kitchen", headers=node.auth)
    assert (await answer.json())["mode"] == "consume"


async def test_the_undo_button_undoes_the_last_scan(ha: Client, node: Node) -> None:
    config = await _config(ha, NODE_CONFIG)
    button = _component(config, "button", "station_kitchen_undo")
    last = _component(config, "sensor", "last_scan")
    response = await node.client.post(
        "/api/scanner/scan", json={"code": "4006381333931", "station_id": "kitchen"},
        headers=node.auth,
    )  # fmt: skip
    assert response.status == 200
    await ha.next(
        last["state_topic"], lambda m: render(last["value_template"], m.payload) != "None"
    )

    await ha.publish(button["command_topic"], button["payload_press"])

    await ha.next(
        last["state_topic"],
        lambda m: json.loads(render(last["json_attributes_template"], m.payload)).get("undone"),
    )
    lots = await (await node.client.get("/api/inventory", headers=node.auth)).json()
    assert lots["items"] == []


async def test_an_expired_lot_shows_in_the_household_sensors(ha: Client, node: Node) -> None:
    household = await _config(ha, HOUSEHOLD_CONFIG)
    expired = _component(household, "sensor", "expired")
    anything = _component(household, "binary_sensor", "any_expired")
    response = await node.client.post(
        "/api/scanner/scan", json={"code": EXPIRED_SCAN, "station_id": "kitchen"},
        headers=node.auth,
    )  # fmt: skip
    assert response.status == 200, await response.text()

    state = await ha.next(
        expired["state_topic"], lambda m: render(expired["value_template"], m.payload) == "1"
    )
    assert render(anything["value_template"], state.payload) == "ON"
    attributes = json.loads(render(expired["json_attributes_template"], state.payload))
    assert attributes["more"] == 0
    assert attributes["items"][0]["date"] == "2026-11-20"


async def test_discovery_is_published_again_when_home_assistant_comes_online(
    ha: Client, node: Node
) -> None:
    await _config(ha, NODE_CONFIG)
    mark = len(ha.received)

    await ha.publish(f"{PREFIX}/status", "online")

    again = await ha.next(HOUSEHOLD_CONFIG, after=mark)
    assert check_device_config(HOUSEHOLD_CONFIG, json.loads(again.payload)) == []
    await ha.next(NODE_CONFIG, after=mark)
    await ha.next(f"{STATE}/expired", after=mark)  # states too, changed or not


async def test_removing_a_node_removes_its_device(
    tmp_path: Path, broker: Broker, ha_login: NodeCredentials, dsn: str, central: Central
) -> None:
    topics = [f"{PREFIX}/device/+/config"]
    async with Client(ha_login, broker.port, topics) as ha:
        # The node is switched off first (as docs/home-assistant.md says): a node that still
        # runs would announce itself again until its removed login keeps it out.
        async with running_node("node-a", tmp_path / "node-a", broker):
            await _config(ha, NODE_CONFIG)
        config_file = write_central_config(tmp_path / "central.toml", central_config(dsn, broker))
        mark = len(ha.received)
        await _removed(tmp_path, broker, ha_login, config_file, ha, mark)


async def _removed(
    tmp_path: Path,
    broker: Broker,
    ha_login: NodeCredentials,
    config_file: Path,
    ha: Client,
    mark: int,
) -> None:
    code = await asyncio.to_thread(
        central_main,
        ["--config", str(config_file), "node", "remove", "node-a",
         "--password-file", str(broker.password_file), "--acl-file", str(broker.acl_file)],
    )  # fmt: skip

    assert code == 0
    await ha.next(NODE_CONFIG, lambda m: m.payload == b"", after=mark)
    assert "node-a" not in broker.password_file.read_text()
    assert "user node-a" not in broker.acl_file.read_text()
    # A Home Assistant starting now finds no device of that node on the broker. The barrier:
    # its own publish is acknowledged after the retained messages its subscription brought.
    async with Client(ha_login, broker.port, [NODE_CONFIG, f"{NODE}/info"]) as late:
        await late.publish(f"{PREFIX}/status", "offline")
    assert not [m for m in late.received if m.payload]


async def test_central_says_offline_when_it_stops(
    dsn: str, broker: Broker, ha_login: NodeCredentials
) -> None:
    second = Central(central_config(dsn, broker, instance="central-2"))
    async with Client(ha_login, broker.port, [CENTRAL_STATUS]) as ha:
        await second.start()
        try:
            await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"online")
            mark = len(ha.received)
        finally:
            await second.close()
        await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"offline", after=mark)
    assert second.config.homeassistant.enabled


async def test_home_assistant_reads_notifications_and_writes_no_states(
    broker: Broker, ha_login: NodeCredentials, ha: Client, node: Node
) -> None:
    household = await _config(ha, HOUSEHOLD_CONFIG)
    event = _component(household, "event", "notification")
    notification = {
        "event_type": "expired",
        "title": "Expired",
        "message": "Milk expired yesterday",
        "items": [{"name": "Milk"}],
    }
    async with Client(ha_login, broker.port, [event["state_topic"]]) as h2:
        async with Client(broker.central, broker.port, []) as central:
            await central.publish(event["state_topic"], json.dumps(notification))
        received = await h2.next_json(event["state_topic"])
    assert received["event_type"] in event["event_types"]
    with pytest.raises(NotConnected, match="refused"):
        await ha.publish(f"{STATE}/expired", '{"count": 99}')


async def test_with_two_centrals_one_stopping_leaves_the_household_available(
    dsn: str, broker: Broker, ha_login: NodeCredentials, central: Central
) -> None:
    second = Central(central_config(dsn, broker, instance="central-2"))
    async with Client(ha_login, broker.port, [CENTRAL_STATUS]) as ha:
        await second.start()
        assert second.sync is not None
        # Connected (it connects in the background), so that its close says offline.
        assert await second.sync.mqtt.wait_connected(30)
        await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"online")
        mark = len(ha.received)
        await second.close()
        # central-2 says offline on its way out; central-1, still here, says online again.
        offline = await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"offline", after=mark)
        index = ha.received.index(offline)
        await ha.next(CENTRAL_STATUS, lambda m: m.payload == b"online", after=index + 1)


async def test_garbage_info_from_a_node_never_reaches_home_assistant_as_garbage(
    broker: Broker, central: Central, ha: Client
) -> None:
    creds = broker.add_node("node-x")
    await broker.reload()
    topic = "kitchen/v1/home/node/node-x/info"
    config_topic = f"{PREFIX}/device/{node_device_id('home', 'node-x')}/config"
    odd = {"v": 1, "node": "node-x", "version": 5, "stations": [{"id": "bad id"}, "x"]}
    async with Client(creds, broker.port, []) as node_x:
        await node_x.publish(topic, b"\xff{not json", retain=True)
        await node_x.publish(topic, json.dumps({"v": 99}), retain=True)
        await node_x.publish(topic, json.dumps(odd), retain=True)

    config = await ha.next_json(config_topic)
    assert check_device_config(config_topic, config) == []
    assert sorted(config["cmps"]) == ["last_scan", "outbox", "scan"]
    assert "sw_version" not in config["dev"]
    pool = central.pool
    assert pool is not None

    async def dead_lettered() -> bool:
        # Central's workers take the three messages side by side: wait for the last of them.
        rows = await pool.fetch("SELECT reason FROM dead_letter WHERE topic = $1", topic)
        return len(rows) >= 2  # the unreadable ones, each with its reason

    await until(dead_lettered, within=30, what="the unreadable infos dead-lettered")
    async with Client(creds, broker.port, []) as node_x:
        await node_x.publish(topic, b"", retain=True)  # leave the broker clean


async def test_another_discovery_prefix_works_through_the_acl(
    dsn: str, broker: Broker, tmp_path: Path
) -> None:
    login = broker.add_ha("ha-two", prefix="ha-test")
    await broker.reload()
    other = Central(central_config(dsn, broker, homeassistant={"prefix": "ha-test"}))
    topic = f"ha-test/device/{household_device_id('home')}/config"
    async with Client(login, broker.port, [topic]) as ha:
        await other.start()
        try:
            config = await ha.next_json(topic)
            assert check_device_config(topic, config) == []
            mark = len(ha.received)
            await ha.publish("ha-test/status", "online")  # HA's birth under its own prefix
            await ha.next(topic, after=mark)
        finally:
            await other.close()


async def test_a_new_station_gets_its_select_and_button(ha: Client, node: Node) -> None:
    await _config(ha, NODE_CONFIG)
    response = await node.client.post(
        "/api/scanner/scan", json={"code": "4006381333931", "station_id": "pantry"},
        headers=node.auth,
    )  # fmt: skip
    assert response.status == 200, await response.text()

    config = await _config(ha, NODE_CONFIG, lambda v: "station_pantry_mode" in v["cmps"])

    assert check_device_config(NODE_CONFIG, config) == []
    assert _component(config, "button", "station_pantry_undo")["command_topic"] == (
        f"{NODE}/cmd/station/pantry/undo"
    )
    assert "station_kitchen_mode" in config["cmps"]
