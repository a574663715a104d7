"""Configuration of the MQTT sync client."""

from __future__ import annotations

from pydantic import SecretStr

from appliance.settings_base import Section


class SyncConfig(Section):
    """MQTT connection to the household broker; disabled by default (a node works alone)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: SecretStr | None = None
