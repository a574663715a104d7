"""Home Assistant's MQTT discovery rules, as the tests check our payloads against them.

Taken from Home Assistant core 2025.4 (``homeassistant/components/mqtt``: ``schemas.py``,
``abbreviations.py``, ``discovery.py`` and each platform's ``DISCOVERY_SCHEMA``). Home
Assistant drops unknown keys of a component silently (``vol.REMOVE_EXTRA``), so a misspelt
key would go unnoticed there: here it is an error. ``tools/ha_core_check.py`` runs the real
schemas where Home Assistant core is installed (docs/home-assistant.md).
"""

from __future__ import annotations

import re
from typing import Any

#: Device-level keys (``DEVICE_DISCOVERY_SCHEMA``), abbreviations expanded.
DEVICE_KEYS = {
    "device",
    "origin",
    "components",
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "state_topic",
    "command_topic",
    "qos",
    "encoding",
}
#: Options a device passes down to each component (``SHARED_OPTIONS``).
SHARED_OPTIONS = {
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "command_topic",
    "payload_available",
    "payload_not_available",
    "state_topic",
}
TOP_ABBREVIATIONS = {"dev": "device", "o": "origin", "cmps": "components"}
COMPONENT_ABBREVIATIONS = {
    "p": "platform",
    "avty": "availability",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "avty_mode": "availability_mode",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "dev_cla": "device_class",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "evt_typ": "event_types",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "ops": "options",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_on": "payload_on",
    "pl_off": "payload_off",
    "pl_prs": "payload_press",
    "stat_cla": "state_class",
    "stat_t": "state_topic",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}
DEVICE_INFO_KEYS = {
    "connections",
    "configuration_url",
    "identifiers",
    "name",
    "manufacturer",
    "model",
    "model_id",
    "hw_version",
    "sw_version",
    "suggested_area",
    "serial_number",
    "via_device",
}
DEVICE_INFO_ABBREVIATIONS = {
    "cns": "connections",
    "cu": "configuration_url",
    "ids": "identifiers",
    "mf": "manufacturer",
    "mdl": "model",
    "mdl_id": "model_id",
    "hw": "hw_version",
    "sw": "sw_version",
    "sa": "suggested_area",
    "sn": "serial_number",
}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
ORIGIN_ABBREVIATIONS = {"sw": "sw_version", "url": "support_url"}

#: What every entity takes (``MQTT_BASE_SCHEMA``, ``MQTT_ENTITY_COMMON_SCHEMA``).
_COMMON = {
    "platform",
    "name",
    "unique_id",
    "object_id",
    "icon",
    "entity_category",
    "entity_picture",
    "enabled_by_default",
    "json_attributes_topic",
    "json_attributes_template",
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "qos",
    "encoding",
    "device",
}
_READ = {"state_topic", "value_template"}
_WRITE = {"command_topic", "retain"}
PLATFORMS: dict[str, tuple[set[str], set[str]]] = {
    # platform: (required keys, allowed keys)
    "sensor": (
        {"state_topic"},
        _COMMON
        | _READ
        | {
            "device_class",
            "expire_after",
            "force_update",
            "last_reset_value_template",
            "options",
            "suggested_display_precision",
            "state_class",
            "unit_of_measurement",
        },
    ),
    "binary_sensor": (
        {"state_topic"},
        _COMMON
        | _READ
        | {"device_class", "expire_after", "force_update", "off_delay"}
        | {"payload_on", "payload_off"},
    ),
    "event": ({"state_topic", "event_types"}, _COMMON | _READ | {"device_class", "event_types"}),
    "select": (
        {"command_topic", "options"},
        _COMMON | _READ | _WRITE | {"command_template", "optimistic", "options"},
    ),
    "button": (
        {"command_topic"},
        _COMMON | _WRITE | {"command_template", "device_class", "payload_press"},
    ),
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
ENTITY_CATEGORIES = {"config", "diagnostic"}
BINARY_DEVICE_CLASSES = {"problem", "safety", "occupancy", "presence", "running", "update"}
#: ``{prefix}/device/<object id>/config``: the object id is ``[a-zA-Z0-9_-]+``.
DISCOVERY_TOPIC = re.compile(r"[a-zA-Z0-9_-]+/device/[a-zA-Z0-9_-]+/config")


def _expand(value: dict[str, Any], abbreviations: dict[str, str]) -> dict[str, Any]:
    return {abbreviations.get(k, k): v for k, v in value.items()}


def check_device_config(topic: str, payload: dict[str, Any]) -> list[str]:
    """Every rule ``payload`` on ``topic`` breaks (an empty list: Home Assistant takes it)."""
    errors: list[str] = []
    if not DISCOVERY_TOPIC.fullmatch(topic):
        errors.append(f"discovery topic {topic!r} is not <prefix>/device/<id>/config")
    config = _expand(payload, TOP_ABBREVIATIONS)
    for key in ("device", "origin", "components"):
        if key not in config:
            errors.append(f"missing {key!r}")
    expanded_top = _expand(config, COMPONENT_ABBREVIATIONS)
    errors += [f"unknown device-level key {k!r}" for k in set(expanded_top) - DEVICE_KEYS]
    device = _expand(config.get("device") or {}, DEVICE_INFO_ABBREVIATIONS)
    errors += [f"unknown device key {k!r}" for k in set(device) - DEVICE_INFO_KEYS]
    if not device.get("identifiers") and not device.get("connections"):
        errors.append("the device needs identifiers")
    if not device.get("name"):
        errors.append("the device needs a name")
    origin = _expand(config.get("origin") or {}, ORIGIN_ABBREVIATIONS)
    errors += [f"unknown origin key {k!r}" for k in set(origin) - ORIGIN_KEYS]
    if not isinstance(origin.get("name"), str):
        errors.append("origin needs a name")
    components = config.get("components")
    if not isinstance(components, dict) or not components:
        return [*errors, "components must be a non-empty object"]
    shared = {k: v for k, v in expanded_top.items() if k in SHARED_OPTIONS}
    for key, raw in components.items():
        errors += [f"{key}: {e}" for e in check_component(raw, shared)]
    return errors


def check_component(raw: dict[str, Any], shared: dict[str, Any]) -> list[str]:
    """The rules one component breaks, with the device's shared options merged in."""
    component = {**shared, **_expand(raw, COMPONENT_ABBREVIATIONS)}
    platform = component.get("platform")
    if platform not in PLATFORMS:
        return [f"unknown platform {platform!r}"]
    required, allowed = PLATFORMS[platform]
    errors = [f"missing {k!r}" for k in sorted(required - set(component))]
    errors += [f"unknown key {k!r} for {platform}" for k in sorted(set(component) - allowed)]
    if not component.get("unique_id"):
        errors.append("no unique_id (HA then cannot keep the entity across restarts)")
    if "availability" not in component and "availability_topic" not in component:
        errors.append("no availability")
    if "state_class" in component and component["state_class"] not in STATE_CLASSES:
        errors.append(f"state_class {component['state_class']!r}")
    if "entity_category" in component and component["entity_category"] not in ENTITY_CATEGORIES:
        errors.append(f"entity_category {component['entity_category']!r}")
    if platform == "binary_sensor" and component.get("device_class") not in (
        None,
        *BINARY_DEVICE_CLASSES,
    ):
        errors.append(f"binary_sensor device_class {component['device_class']!r}")
    if platform == "select" and not all(isinstance(o, str) for o in component["options"]):
        errors.append("select options must be strings")
    if platform == "event" and not all(isinstance(t, str) for t in component["event_types"]):
        errors.append("event_types must be strings")
    if platform == "sensor" and "options" in component:
        errors.append("options only with device_class enum")
    for key, value in component.items():
        if key.endswith("_topic") and (not isinstance(value, str) or not value):
            errors.append(f"{key} must be a topic")
        if key.endswith("_topic") and isinstance(value, str) and ("+" in value or "#" in value):
            errors.append(f"{key} {value!r} has a wildcard")
    return errors


def unique_ids(payloads: list[dict[str, Any]]) -> list[str]:
    """Every component's unique id over several device configs (duplicates kept)."""
    ids = []
    for payload in payloads:
        for raw in payload["cmps"].values():
            ids.append(_expand(raw, COMPONENT_ABBREVIATIONS)["unique_id"])
    return ids
