"""Check discovery against a real Home Assistant core (``make ha-core-check``).

Not part of ``make test``: Home Assistant core needs a newer Python than the project's (see
docs/home-assistant.md). Give its interpreter in ``HA_PYTHON`` (a venv with
``homeassistant==2025.4.4`` and ``paho-mqtt==2.1.0``). This starts Mosquitto, a PostgreSQL
database, central and a node (this process, the project's Python) and ``hass`` (a child
process with its own configuration directory), then checks:

1. Home Assistant creates every entity of the household and of the node, and logs no
   complaint about a discovery payload;
2. the household and node entities get their states (``mqtt_statestream`` mirrors HA's
   states back to MQTT, where this script reads them);
3. a ``select.select_option`` in Home Assistant switches the node's station (the node's HTTP
   API says so) and the select's state in HA follows;
4. a ``button.press`` undoes the station's last scan;
5. an expired lot turns ``binary_sensor..._something_expired`` on;
6. the sample automation of docs/home-assistant.md announces a lot to be used by tomorrow.

Exit status 0 when all holds; the steps and HA's log lines about MQTT are printed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from central.app import Central
from central.credentials import NodeCredentials, set_password
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config
from tests.fakes.mqtt_client import Client
from tests.fakes.ports import free_port
from tests.fakes.postgres import temporary_database
from tests.fakes.sync_node import Node, running_node

log = logging.getLogger("ha-core-check")
STATES = "hastate"
NODE = "node-a"
ENTITIES = {
    "sensor.kitchen_home_expired": "0",
    "sensor.kitchen_home_due_soon": "0",
    "sensor.kitchen_home_below_min_stock": "0",
    "sensor.kitchen_home_shopping_list": "0",
    "sensor.kitchen_home_receipts_to_review": "0",
    "binary_sensor.kitchen_home_something_expired": "off",
    "binary_sensor.kitchen_home_something_below_min": "off",
    "event.kitchen_home_notification": None,
    "sensor.kitchen_node_node_a_outbox": None,
    "sensor.kitchen_node_node_a_last_scan": None,
    "event.kitchen_node_node_a_scan": None,
    "select.kitchen_node_node_a_kitchen_mode": "add",
    "button.kitchen_node_node_a_kitchen_undo_last_scan": None,
}
EXPIRED_SCAN = "]d201040063813339311726112010LOT1"

CONFIGURATION = """
homeassistant:
  name: Kitchen test
  latitude: 52.52
  longitude: 13.40
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: DE
  currency: EUR
http:
  server_host: 127.0.0.1
  server_port: {http_port}
logger:
  default: warning
mqtt_statestream:
  base_topic: {states}
  publish_attributes: true
automation:
  - id: kitchen_test_select
    alias: kitchen test select
    triggers:
      - trigger: mqtt
        topic: kitchen-test/select
    actions:
      - action: select.select_option
        target:
          entity_id: select.kitchen_node_node_a_kitchen_mode
        data:
          option: "{{{{ trigger.payload }}}}"
  - id: kitchen_test_press
    alias: kitchen test press
    triggers:
      - trigger: mqtt
        topic: kitchen-test/press
    actions:
      - action: button.press
        target:
          entity_id: button.kitchen_node_node_a_kitchen_undo_last_scan
  # The sample automation of docs/home-assistant.md, announcing on MQTT instead of a speaker.
  - id: kitchen_expires_tomorrow
    alias: Something expires tomorrow
    triggers:
      - trigger: template
        value_template: >-
          {{{{ state_attr('sensor.kitchen_home_due_soon', 'items') | default([], true)
             | selectattr('date', 'eq', (now() + timedelta(days=1)).date() | string)
             | list | count > 0 }}}}
    actions:
      - action: mqtt.publish
        data:
          topic: {states}/announce
          payload: >-
            {{{{ state_attr('sensor.kitchen_home_due_soon', 'items')
               | selectattr('date', 'eq', (now() + timedelta(days=1)).date() | string)
               | map(attribute='name') | join(', ') }}}} expires tomorrow
"""


def _mqtt_entry(port: int, username: str, password: str) -> dict[str, Any]:
    # Storage version 1.1: Home Assistant migrates it (and the MQTT entry's options) itself.
    return {
        "version": 1,
        "minor_version": 1,
        "key": "core.config_entries",
        "data": {
            "entries": [
                {
                    "entry_id": "01kitchentestmqttentry0000",
                    "version": 1,
                    "minor_version": 1,
                    "domain": "mqtt",
                    "title": "Kitchen broker",
                    "source": "user",
                    "data": {
                        "broker": "127.0.0.1",
                        "port": port,
                        "username": username,
                        "password": password,
                        "discovery": True,
                        "discovery_prefix": "homeassistant",
                    },
                }
            ]
        },
    }


def _grant_ha_test_topics(broker: Broker, ha_user: str) -> NodeCredentials:
    """Let HA's login also write its state mirror and read the test triggers; add a tester
    login that may do anything (only in this check)."""
    acl = broker.acl_file.read_text()
    end = f"# END kitchen ha={ha_user} household={broker.household}"
    extra = f"topic write {STATES}/#\ntopic read kitchen-test/#\n"
    broker.acl_file.write_text(acl.replace(end, extra + end))
    password = "tester-" + os.urandom(8).hex()
    set_password(broker.password_file, "tester", password)
    with broker.acl_file.open("a") as f:
        f.write("\nuser tester\ntopic readwrite #\n")
    return NodeCredentials("tester", password, broker.household, "127.0.0.1", broker.port)


def _gs1_date(day: date) -> str:
    return day.strftime("%y%m%d")


class Mirror:
    """HA's states as ``mqtt_statestream`` publishes them: entity id → state."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def state(self, entity_id: str) -> str | None:
        domain, object_id = entity_id.split(".", 1)
        topic = f"{STATES}/{domain}/{object_id}/state"
        for message in reversed(self.client.received):
            if message.topic == topic:
                return message.payload.decode()
        return None

    def attribute(self, entity_id: str, name: str) -> Any:
        """An attribute of the entity (statestream publishes each as JSON)."""
        domain, object_id = entity_id.split(".", 1)
        topic = f"{STATES}/{domain}/{object_id}/{name}"
        for message in reversed(self.client.received):
            if message.topic == topic:
                return json.loads(message.payload)
        return None

    async def until(self, entity_id: str, expected: str | None, within: float) -> str:
        deadline = time.monotonic() + within
        while True:
            value = self.state(entity_id)
            if value is not None and (expected is None or value == expected):
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{entity_id} is {value!r}, expected {expected!r}")
            await asyncio.sleep(0.2)  # ok: polls another process (Home Assistant)


def _spawn_hass(ha_python: str, config_dir: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [ha_python, "-m", "homeassistant", "-c", str(config_dir), "--skip-pip"],
        stdin=subprocess.DEVNULL,
        stdout=out.open("wb"),
        stderr=subprocess.STDOUT,
    )


async def _scan(node: Node, code: str) -> None:
    response = await node.client.post(
        "/api/scanner/scan", json={"code": code, "station_id": "kitchen"}, headers=node.auth
    )
    assert response.status == 200, await response.text()


async def _steps(node: Node, watcher: Client, mirror: Mirror) -> list[str]:
    """Steps 1 to 6 once Home Assistant runs."""
    problems: list[str] = []
    started = time.monotonic()
    for entity, expected in ENTITIES.items():
        try:
            await mirror.until(entity, expected, within=180)
        except AssertionError as exc:
            problems.append(str(exc))
    log.info("1-2. entities and states in HA after %.0f s", time.monotonic() - started)
    if problems:
        return problems

    select = "select.kitchen_node_node_a_kitchen_mode"
    await watcher.publish("kitchen-test/select", "consume")
    await mirror.until(select, "consume", within=30)
    answer = await node.client.get("/api/scanner/mode?station_id=kitchen", headers=node.auth)
    mode = (await answer.json())["mode"]
    if mode != "consume":
        problems.append(f"the node's station is in {mode!r} after HA's select")
    log.info("3. HA's select switched the node's station to %s", mode)
    await node.client.post(
        "/api/scanner/mode", json={"station_id": "kitchen", "mode": "add"}, headers=node.auth
    )
    await mirror.until(select, "add", within=30)

    await _scan(node, EXPIRED_SCAN)
    await mirror.until("binary_sensor.kitchen_home_something_expired", "on", 30)
    await mirror.until("sensor.kitchen_home_expired", "1", 30)
    log.info("5. the expired lot shows in HA")

    await watcher.publish("kitchen-test/press", "")
    await mirror.until("sensor.kitchen_home_expired", "0", 30)
    stock = await (await node.client.get("/api/inventory", headers=node.auth)).json()
    if stock["items"]:
        problems.append("HA's undo button did not undo the scan")
    log.info("4. HA's undo button undid the scan")
    event = mirror.attribute("event.kitchen_node_node_a_scan", "event_type")
    if event != "added":
        problems.append(f"the scan event's event_type is {event!r}")

    # Another product, to be used by tomorrow: the sample automation speaks.
    tomorrow = date.today() + timedelta(days=1)
    await _scan(node, f"]d2010401234567890117{_gs1_date(tomorrow)}")
    await mirror.until("sensor.kitchen_home_due_soon", "1", 30)
    items = mirror.attribute("sensor.kitchen_home_due_soon", "items")
    if not items or items[0].get("date") != tomorrow.isoformat():
        problems.append(f"due soon items in HA: {items!r}")
    announce = await watcher.next(f"{STATES}/announce", within=30)
    log.info("6. the sample automation said: %s", announce.payload.decode())
    return problems


def _configure_hass(config_dir: Path, broker: Broker, ha: NodeCredentials) -> None:
    (config_dir / ".storage").mkdir(parents=True)
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION.format(http_port=free_port(), states=STATES)
    )
    (config_dir / ".storage" / "core.config_entries").write_text(
        json.dumps(_mqtt_entry(broker.port, ha.username, ha.password))
    )


def _complaints(config_dir: Path) -> list[str]:
    """What Home Assistant's log says about MQTT discovery."""
    ha_log = config_dir / "home-assistant.log"
    lines = ha_log.read_text(errors="replace").splitlines() if ha_log.exists() else []
    problems = []
    for line in lines:
        if "mqtt" in line.lower():
            log.warning("HA: %s", line)
            if "discovery" in line.lower() or "invalid" in line.lower():
                problems.append(f"Home Assistant logged: {line}")
    return problems


async def check(ha_python: str, work: Path, dsn: str) -> list[str]:
    """Run the whole check; return the problems found (empty: all good)."""
    broker = Broker(work / "broker")
    await broker.start()
    hass: subprocess.Popen[bytes] | None = None
    config_dir = work / "ha"
    try:
        ha = broker.add_ha()
        tester = _grant_ha_test_topics(broker, ha.username)
        await broker.reload()
        _configure_hass(config_dir, broker, ha)
        central = Central(central_config(dsn, broker, homeassistant={"debounce": 0.2}))
        await central.start()
        try:
            async with (
                running_node(NODE, work / "node", broker) as node,
                Client(tester, broker.port, [f"{STATES}/#"]) as watcher,
            ):
                hass = _spawn_hass(ha_python, config_dir, work / "hass.out")
                problems = await _steps(node, watcher, Mirror(watcher))
        finally:
            if hass is not None and hass.poll() is None:
                hass.terminate()
                await asyncio.to_thread(hass.wait, 60)
            await central.close()
        return problems + _complaints(config_dir)
    finally:
        if hass is not None and hass.poll() is None:
            hass.kill()
        broker.close()


def main() -> int:
    """Entry point: ``HA_PYTHON=/path/to/python python -m tests.ha_core.check``."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ha_python = os.environ.get("HA_PYTHON")
    if not ha_python:
        sys.stderr.write("set HA_PYTHON to a Python with homeassistant installed\n")
        return 2
    keep = os.environ.get("HA_CHECK_DIR")  # keep HA's configuration and log there
    with (
        tempfile.TemporaryDirectory(prefix="kitchen-ha-") as scratch,
        temporary_database("kitchen_ha_core") as dsn,
    ):
        tmp = keep or scratch
        problems = asyncio.run(check(ha_python, Path(tmp), dsn))
        if problems:
            out = Path(tmp) / "hass.out"
            sys.stderr.write(out.read_text(errors="replace")[-4000:] if out.exists() else "")
    for problem in problems:
        sys.stderr.write(f"PROBLEM: {problem}\n")
    sys.stdout.write("Home Assistant core check: " + ("FAILED\n" if problems else "passed\n"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
