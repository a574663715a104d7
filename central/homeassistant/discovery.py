"""Home Assistant MQTT discovery payloads: the household device and one device per node (pure).

Device-based discovery (``{prefix}/device/<id>/config``, read by Home Assistant since
2024.11): one retained message per device with ``dev`` (the device), ``o`` (the origin: this
software) and ``cmps`` (its entities, each with ``p``, its platform). Keys other than those
are written out in full (``state_topic``, not ``stat_t``): Home Assistant takes both, and full
names are easier to read in a broker's retained list. Availability is shared by every entity
of a device (a device-level option): central's status topic for the household, the node's
own status topic for a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from appliance.core.modes import ALL_MODES
from appliance.sync.node_protocol import SCAN_RESULTS
from appliance.sync.protocol import ROOT, Topics

ORIGIN_NAME: Final = "kitchen-central"
SUPPORT_URL: Final = "https://github.com/kitchen-appliance/kitchen-appliance"
MANUFACTURER: Final = "Kitchen appliance"
#: What central's notifications announce (``kitchen/v1/{h}/central/notification``).
NOTIFICATION_EVENT_TYPES: Final = (
    "expiring",
    "expired",
    "below_min",
    "receipt_review",
    "node_offline",
    "digest",
)
MODES: Final = tuple(m.value for m in ALL_MODES)


@dataclass(frozen=True, slots=True)
class HouseholdSensor:
    """One count of the household (a sensor whose attributes list what it counts)."""

    key: str
    name: str
    icon: str
    #: The binary sensor "something ..." derived from it, if any: (key, name, device_class).
    binary: tuple[str, str, str] | None = None


_EXPIRED = ("any_expired", "Something expired", "problem")
_BELOW_MIN = ("any_below_min", "Something below min", "problem")
HOUSEHOLD_SENSORS: Final = (
    HouseholdSensor("expired", "Expired", "mdi:food-off", _EXPIRED),
    HouseholdSensor("overdue", "Overdue", "mdi:calendar-alert"),
    HouseholdSensor("due_soon", "Due soon", "mdi:calendar-clock"),
    HouseholdSensor("below_min", "Below min stock", "mdi:package-down", _BELOW_MIN),
    HouseholdSensor("shopping_open", "Shopping list", "mdi:cart"),
    HouseholdSensor("shopping_urgent", "Urgent shopping", "mdi:cart-heart"),
    HouseholdSensor("receipts_review", "Receipts to review", "mdi:receipt-text-clock"),
)


@dataclass(frozen=True, slots=True)
class HaTopics:
    """The topics central publishes for Home Assistant, and the discovery topics."""

    household: str
    prefix: str = "homeassistant"

    @property
    def central_status(self) -> str:
        """Central → all, retained: ``online``, last will ``offline``."""
        return f"{ROOT}/{self.household}/central/status"

    def household_state(self, key: str) -> str:
        """Central → all, retained: one household count and what it counts."""
        return f"{ROOT}/{self.household}/central/household/{key}"

    @property
    def notification(self) -> str:
        """Central → all: notifications (``event_type``, title, message, items)."""
        return f"{ROOT}/{self.household}/central/notification"

    @property
    def ha_status(self) -> str:
        """Home Assistant → all: ``online`` when it (re)starts (its birth message)."""
        return f"{self.prefix}/status"

    def config(self, device_id: str) -> str:
        """``{prefix}/device/<id>/config``."""
        return f"{self.prefix}/device/{device_id}/config"

    @property
    def configs(self) -> str:
        """A filter for every device config under the prefix."""
        return f"{self.prefix}/device/+/config"

    def device_of_config(self, topic: str) -> str | None:
        """The device id of a config topic, or None."""
        head, tail = f"{self.prefix}/device/", "/config"
        if topic.startswith(head) and topic.endswith(tail):
            device = topic[len(head) : -len(tail)]
            return device if device and "/" not in device else None
        return None


def household_device_id(household: str) -> str:
    """The household device's id (also the prefix of every unique id)."""
    return f"kitchen_{household}"


def node_device_id(household: str, node: str) -> str:
    """A node device's id."""
    return f"kitchen_{household}_node_{node}"


def _origin(version: str) -> dict[str, Any]:
    return {"name": ORIGIN_NAME, "sw": version, "url": SUPPORT_URL}


def household_config(household: str, prefix: str, version: str) -> dict[str, Any]:
    """The household device: counts, "something expired/below min", notifications."""
    t = HaTopics(household, prefix)
    device_id = household_device_id(household)
    components: dict[str, dict[str, Any]] = {}
    for sensor in HOUSEHOLD_SENSORS:
        topic = t.household_state(sensor.key)
        components[sensor.key] = {
            "p": "sensor",
            "name": sensor.name,
            "unique_id": f"{device_id}_{sensor.key}",
            "icon": sensor.icon,
            "state_topic": topic,
            "value_template": "{{ value_json.count }}",
            "state_class": "measurement",
            "json_attributes_topic": topic,
            "json_attributes_template": "{{ {'items': value_json['items'],"
            " 'more': value_json.more} | tojson }}",
        }
        if sensor.binary is not None:
            key, name, device_class = sensor.binary
            components[key] = {
                "p": "binary_sensor",
                "name": name,
                "unique_id": f"{device_id}_{key}",
                "device_class": device_class,
                "state_topic": topic,
                "value_template": "{{ 'ON' if value_json.count > 0 else 'OFF' }}",
            }
    components["notification"] = {
        "p": "event",
        "name": "Notification",
        "unique_id": f"{device_id}_notification",
        "icon": "mdi:bell-ring",
        "state_topic": t.notification,
        "event_types": list(NOTIFICATION_EVENT_TYPES),
    }
    return {
        "dev": {
            "identifiers": [device_id],
            "name": f"Kitchen ({household})",
            "manufacturer": MANUFACTURER,
            "model": "Household",
            "sw_version": version,
        },
        "o": _origin(version),
        "availability_topic": t.central_status,
        "cmps": components,
    }


def _station_template(station: str, field: str) -> str:
    # Station ids are [A-Za-z0-9._-]: safe inside a quoted template string.
    return (
        f"{{% for s in value_json.stations if s.id == '{station}' %}}"
        f"{{{{ s.{field} }}}}{{% endfor %}}"
    )


def _key(station: str) -> str:
    """A station id as a component key: ``_`` doubled and ``.`` as ``_p``, so two ids never
    meet in one key."""
    return station.replace("_", "__").replace(".", "_p")


def node_config(household: str, node: str, info: dict[str, Any], version: str) -> dict[str, Any]:
    """A node's device, from its retained ``info``: outbox, last scan, scans, per station
    a mode select and an undo button."""
    topics = Topics(household)
    device_id = node_device_id(household, node)
    info_topic = topics.info(node)
    components: dict[str, dict[str, Any]] = {
        "outbox": {
            "p": "sensor",
            "name": "Outbox",
            "unique_id": f"{device_id}_outbox",
            "icon": "mdi:tray-full",
            "state_topic": info_topic,
            "value_template": "{{ value_json.outbox }}",
            "state_class": "measurement",
            "unit_of_measurement": "events",
            "entity_category": "diagnostic",
        },
        "last_scan": {
            "p": "sensor",
            "name": "Last scan",
            "unique_id": f"{device_id}_last_scan",
            "icon": "mdi:barcode-scan",
            "state_topic": info_topic,
            "value_template": "{{ (value_json.last_scan.product or value_json.last_scan.code)"
            " if value_json.last_scan else 'None' }}",
            "json_attributes_topic": info_topic,
            "json_attributes_template": "{{ (value_json.last_scan or {}) | tojson }}",
        },
        "scan": {
            "p": "event",
            "name": "Scan",
            "unique_id": f"{device_id}_scan",
            "icon": "mdi:barcode",
            "state_topic": topics.scan(node),
            "event_types": list(SCAN_RESULTS),
        },
    }
    for station in _stations(info):
        sid, label = station["id"], station["name"]
        key = "station_" + _key(sid)
        components[f"{key}_mode"] = {
            "p": "select",
            "name": f"{label} mode",
            "unique_id": f"{device_id}_{key}_mode",
            "icon": "mdi:format-list-bulleted-type",
            "state_topic": info_topic,
            "value_template": _station_template(sid, "mode"),
            "command_topic": topics.station_mode(node, sid),
            "options": list(MODES),
        }
        components[f"{key}_undo"] = {
            "p": "button",
            "name": f"{label} undo last scan",
            "unique_id": f"{device_id}_{key}_undo",
            "icon": "mdi:undo",
            "command_topic": topics.station_undo(node, sid),
            "payload_press": "PRESS",
        }
    device: dict[str, Any] = {
        "identifiers": [device_id],
        "name": f"Kitchen node {node}",
        "manufacturer": MANUFACTURER,
        "model": "Node",
        "via_device": household_device_id(household),
    }
    node_version = info.get("version")
    if isinstance(node_version, str) and node_version:
        device["sw_version"] = node_version[:64]
    return {
        "dev": device,
        "o": _origin(version),
        "availability_topic": topics.status(node),
        "cmps": components,
    }


#: Stations a node device shows at most (a household has a few; info is capped anyway).
MAX_STATIONS: Final = 32


def _stations(info: dict[str, Any]) -> list[dict[str, str]]:
    """The valid stations of an info payload (anything else in it is ignored)."""
    from appliance.sync.node_protocol import STATION_ID

    out: list[dict[str, str]] = []
    seen: set[str] = set()
    stations = info.get("stations")
    for item in stations if isinstance(stations, list) else []:
        if not isinstance(item, dict):
            continue
        sid = item.get("id")
        if not isinstance(sid, str) or not STATION_ID.fullmatch(sid) or sid in seen:
            continue
        name = item.get("name")
        label = name[:60] if isinstance(name, str) and name.strip() else sid
        seen.add(sid)
        out.append({"id": sid, "name": label})
        if len(out) >= MAX_STATIONS:
            break
    return out


def station_ids(info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The stations (id, name) a node device would show, to tell whether its config must
    change (a new station, or a paired device renamed)."""
    return tuple((s["id"], s["name"]) for s in _stations(info))
