"""Home Assistant discovery payloads and state messages against HA's rules (no broker here).

Each payload is checked with ``tests/fakes/ha_rules.py`` (required keys per platform, known
keys and abbreviations only, unique ids, availability) and its templates are rendered with
Jinja2 on the very messages node and central publish, as Home Assistant would.
"""

from __future__ import annotations

import json
from typing import Any

import jinja2
import pytest

from appliance.sync.node_protocol import (
    MODES,
    SCAN_RESULTS,
    info_message,
    last_scan,
    scan_message,
)
from central.homeassistant.discovery import (
    HOUSEHOLD_SENSORS,
    MAX_STATIONS,
    NOTIFICATION_EVENT_TYPES,
    HaTopics,
    household_config,
    household_device_id,
    node_config,
    node_device_id,
)
from central.homeassistant.states import (
    HA_MAX_ATTRIBUTES_BYTES,
    HA_MAX_STATE_CHARS,
    MAX_STATE_BYTES,
    state_message,
)
from tests.fakes.ha_rules import check_device_config, unique_ids

HOUSEHOLD = "home"
_env = jinja2.Environment(autoescape=False)


def render(template: str, payload: bytes | dict[str, Any]) -> str:
    """Render a value template as Home Assistant does (``value_json`` is the payload)."""
    value = payload if isinstance(payload, dict) else json.loads(payload)
    return _env.from_string(template).render(value_json=value)


def _info(stations: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return info_message(
        node="kitchen-pi",
        version="0.1.0",
        outbox=3,
        last=extra.get("last"),
        stations=stations or [{"id": "kitchen", "name": "kitchen", "mode": "consume"}],
        uptime_s=12,
        commands={"accepted": 0, "rejected": 0, "last_rejected": None},
    )


def _topic(device_id: str) -> str:
    return HaTopics(HOUSEHOLD).config(device_id)


def test_the_household_device_follows_the_discovery_rules() -> None:
    config = household_config(HOUSEHOLD, "homeassistant", "0.1.0")
    assert check_device_config(_topic(household_device_id(HOUSEHOLD)), config) == []
    platforms = [c["p"] for c in config["cmps"].values()]
    assert platforms.count("sensor") == len(HOUSEHOLD_SENSORS) == 7
    assert platforms.count("binary_sensor") == 2
    assert platforms.count("event") == 1
    assert config["availability_topic"] == "kitchen/v1/home/central/status"
    assert config["cmps"]["notification"]["event_types"] == list(NOTIFICATION_EVENT_TYPES)


def test_a_node_device_follows_the_rules_with_a_select_and_a_button_per_station() -> None:
    info = _info(
        [
            {"id": "kitchen", "name": "kitchen", "mode": "add"},
            {"id": "ipad.1", "name": "Kitchen iPad", "mode": "consume"},
        ]
    )
    config = node_config(HOUSEHOLD, "kitchen-pi", info, "0.1.0")
    assert check_device_config(_topic(node_device_id(HOUSEHOLD, "kitchen-pi")), config) == []
    assert config["availability_topic"] == "kitchen/v1/home/node/kitchen-pi/status"
    assert config["dev"]["via_device"] == household_device_id(HOUSEHOLD)
    selects = {k: c for k, c in config["cmps"].items() if c["p"] == "select"}
    buttons = {k: c for k, c in config["cmps"].items() if c["p"] == "button"}
    assert len(selects) == len(buttons) == 2
    ipad = config["cmps"]["station_ipad_p1_mode"]
    assert ipad["name"] == "Kitchen iPad mode"
    assert ipad["options"] == list(MODES)
    assert ipad["command_topic"] == "kitchen/v1/home/node/kitchen-pi/cmd/station/ipad.1/mode"
    assert config["cmps"]["scan"]["event_types"] == list(SCAN_RESULTS)


def test_unique_ids_are_unique_over_every_device_and_station_ids_never_meet() -> None:
    stations = [
        {"id": sid, "name": sid, "mode": "add"} for sid in ("a.b", "a_b", "a-b", "a_pb", "a__b")
    ]
    configs = [
        household_config(HOUSEHOLD, "homeassistant", "0.1.0"),
        node_config(HOUSEHOLD, "node-a", _info(stations), "0.1.0"),
        node_config(HOUSEHOLD, "node-b", _info(stations), "0.1.0"),
    ]
    ids = unique_ids(configs)
    assert len(ids) == len(set(ids))
    assert len(configs[1]["cmps"]) == 3 + 2 * len(stations)


def test_a_node_config_ignores_garbage_in_the_info() -> None:
    info = _info()
    info["stations"] = [
        {"id": "ok", "name": "", "mode": "add"},
        {"id": "bad id", "name": "x", "mode": "add"},
        {"id": "' }}{{ 7*7 }}", "mode": "add"},
        "nonsense",
        {"id": "ok", "name": "twice", "mode": "add"},
        *({"id": f"s{i}", "mode": "add"} for i in range(100)),
    ]
    info["version"] = {"not": "a string"}
    config = node_config(HOUSEHOLD, "node-a", info, "0.1.0")
    assert check_device_config(_topic(node_device_id(HOUSEHOLD, "node-a")), config) == []
    selects = [c for c in config["cmps"].values() if c["p"] == "select"]
    assert len(selects) == MAX_STATIONS
    assert selects[0]["name"] == "ok mode"
    assert "sw_version" not in config["dev"]


def test_node_templates_read_the_nodes_own_info_and_scan_messages() -> None:
    outcome = {
        "outcome": "added",
        "station_id": "kitchen",
        "mode": "add",
        "code": "4006381333931",
        "product": {"name": "Tea"},
        "message": "Added Tea (1 in stock)",
    }
    scan = scan_message(outcome, "2026-12-01T12:00:00.000Z")
    info = _info(last=last_scan(scan))
    config = node_config(HOUSEHOLD, "kitchen-pi", info, "0.1.0")
    c = config["cmps"]
    assert render(c["outbox"]["value_template"], info) == "3"
    assert render(c["last_scan"]["value_template"], info) == "Tea"
    assert json.loads(render(c["last_scan"]["json_attributes_template"], info))["station"] == (
        "kitchen"
    )
    assert render(c["station_kitchen_mode"]["value_template"], info) == "consume"
    assert scan["event_type"] in c["scan"]["event_types"]
    # No scan yet: the sensor reads unknown ("None" is Home Assistant's word for it).
    assert render(c["last_scan"]["value_template"], _info()) == "None"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_household_templates_read_the_state_messages(count: int) -> None:
    config = household_config(HOUSEHOLD, "homeassistant", "0.1.0")
    payload = state_message(count, [{"name": "Milk", "date": "2026-12-01"}] * count)
    c = config["cmps"]
    assert render(c["expired"]["value_template"], payload) == str(count)
    attributes = json.loads(render(c["expired"]["json_attributes_template"], payload))
    assert attributes == {"items": [{"name": "Milk", "date": "2026-12-01"}] * count, "more": 0}
    assert render(c["any_expired"]["value_template"], payload) == ("ON" if count else "OFF")


def test_a_state_message_stays_within_home_assistants_limits() -> None:
    huge = [
        {"name": "ü" * 10_000, "date": "2026-12-01" * 100, "amount": 1.5, "location": "x" * 999}
        for _ in range(10_000)
    ]
    payload = state_message(10**15, huge, max_items=100)
    assert len(payload) <= MAX_STATE_BYTES < HA_MAX_ATTRIBUTES_BYTES
    value = json.loads(payload)
    assert len(str(value["count"])) <= HA_MAX_STATE_CHARS
    assert value["count"] == 10**15
    assert value["more"] == 10**15 - len(value["items"])
    assert all(len(i["name"]) <= 60 for i in value["items"])
    config = household_config(HOUSEHOLD, "homeassistant", "0.1.0")
    attributes = render(config["cmps"]["due_soon"]["json_attributes_template"], payload)
    assert len(attributes.encode()) <= HA_MAX_ATTRIBUTES_BYTES


def test_the_last_scan_state_stays_within_255_characters() -> None:
    outcome = {"outcome": "added", "station_id": "kitchen", "code": "9" * 5000}
    outcome["product"] = {"name": "x" * 5000}
    info = _info(last=last_scan(scan_message(outcome, "now")))
    config = node_config(HOUSEHOLD, "kitchen-pi", info, "0.1.0")
    assert len(render(config["cmps"]["last_scan"]["value_template"], info)) <= HA_MAX_STATE_CHARS
    assert len(json.dumps(info).encode()) <= HA_MAX_ATTRIBUTES_BYTES


def test_the_discovery_prefix_is_configurable() -> None:
    topics = HaTopics(HOUSEHOLD, "ha-test")
    assert topics.config("kitchen_home") == "ha-test/device/kitchen_home/config"
    assert topics.ha_status == "ha-test/status"
    assert topics.device_of_config("ha-test/device/kitchen_home/config") == "kitchen_home"
    assert topics.device_of_config("homeassistant/device/kitchen_home/config") is None
