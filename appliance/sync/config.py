"""Configuration of the MQTT connection: the broker section node and central share, and the
node's sync client settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr, model_validator

from appliance.settings_base import Section

if TYPE_CHECKING:  # paho-mqtt is an extra: reading the config must not need it
    from appliance.sync.mqtt import MqttSettings


class BrokerSection(Section):
    """Where the household broker is and how to log in (``[sync]`` on a node, ``[mqtt]`` on
    central)."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    # A file holding the password (e.g. under $CREDENTIALS_DIRECTORY); wins over ``password``.
    password_file: Path | None = None
    tls: bool = False
    # CA certificate of the household (None: the system's trust store).
    ca_file: Path | None = None
    # Seconds between MQTT pings when idle. The broker publishes a vanished client's last will
    # ("offline") after 1.5 x this, so 2 s lets the dashboard show a node killed or unplugged
    # as offline within 3 s; raise it for a node on a flaky radio link.
    keepalive: int = Field(default=2, ge=1, le=3600)
    # How long the broker keeps the session (subscriptions, queued messages) while away.
    session_expiry: int = Field(default=7 * 24 * 3600, ge=0)

    def resolved_password(self) -> str | None:
        """The password, read from ``password_file`` when one is given."""
        if self.password_file is not None:
            return self.password_file.read_text(encoding="utf-8").strip()
        return self.password.get_secret_value() if self.password else None

    def mqtt_settings(self, client_id: str, **extra: Any) -> MqttSettings:
        """The connection settings for ``MqttConnection``; ``extra`` sets the rest."""
        from appliance.sync.mqtt import MqttSettings

        return MqttSettings(
            host=self.host,
            port=self.port,
            client_id=client_id,
            username=self.username,
            password=self.resolved_password(),
            keepalive=self.keepalive,
            session_expiry=self.session_expiry,
            tls=self.tls,
            ca_file=str(self.ca_file) if self.ca_file else None,
            **extra,
        )


class SyncConfig(BrokerSection):
    """MQTT sync of a node with central; disabled by default (a node works alone)."""

    enabled: bool = False
    # Outbox events per batch message, and the bytes one batch may take.
    batch_size: int = Field(default=200, ge=1, le=1000)
    max_batch_bytes: int = Field(default=256 * 1024, ge=4096)
    # Batches sent but not yet acknowledged by central, at most.
    max_in_flight: int = Field(default=4, ge=1, le=100)
    # A batch without central's ack after this long is sent again.
    ack_timeout: float = Field(default=10.0, gt=0)
    # Seconds between anti-entropy catch-up walks (besides those after a gap or a reconnect).
    catchup_interval: float = Field(default=60.0, gt=0)
    catchup_page: int = Field(default=1000, ge=1, le=5000)
    # How long to wait for a catch-up page before asking again.
    catchup_timeout: float = Field(default=10.0, gt=0)
    # Fallback poll of the outbox when nobody calls ``SyncClient.notify()``.
    poll_interval: float = Field(default=1.0, gt=0)
    reconnect_max: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _login_complete(self) -> SyncConfig:
        if self.enabled and self.username is None and (self.password or self.password_file):
            raise ValueError("sync.username is required when a password is set")
        return self
