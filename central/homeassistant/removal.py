"""Removing a node from the broker's retained state: its status, its info and its device.

``kitchen-central node remove NAME`` takes the node's login away and then calls
``clear_node``: central's own login publishes empty retained messages on the node's
``status`` and ``info`` topics and on its Home Assistant config topic, so HA removes the
device, the dashboard forgets the node, and a running central (which hears the cleared
``info``) does not publish the device again.
"""

from __future__ import annotations

from central.config import CentralConfig
from central.homeassistant.discovery import HaTopics, node_device_id


def retained_topics(config: CentralConfig, node: str) -> list[str]:
    """The retained topics that keep node ``node`` visible."""
    from appliance.sync.protocol import Topics

    household = config.central.household
    topics = Topics(household)
    ha = HaTopics(household, config.homeassistant.prefix)
    return [
        ha.config(node_device_id(household, node)),
        topics.info(node),
        topics.status(node),
    ]


async def clear_node(config: CentralConfig, node: str, within: float = 10.0) -> None:
    """Clear the node's retained topics with central's login; raise if the broker is away."""
    from appliance.sync.mqtt import MqttConnection

    async def ignore(message: object) -> None:
        return None

    settings = config.mqtt.mqtt_settings(
        f"kitchen-{config.central.household}-{config.central.instance}-admin"
    )
    settings.session_expiry = 0
    settings.reconnect_max = 1.0
    connection = MqttConnection(settings, ignore)
    connection.start()
    try:
        if not await connection.wait_connected(within):
            raise ConnectionError(f"broker {settings.host}:{settings.port} not reachable")
        for topic in retained_topics(config, node):
            await connection.publish(topic, b"", retain=True, wait=within)
    finally:
        await connection.close()
