"""Central's configuration: one TOML file, typed, unknown keys rejected, every error listed.

Secrets (the database DSN, the MQTT password) can come from files, e.g. systemd's
``$CREDENTIALS_DIRECTORY``, through ``password_file`` / ``dsn_file``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from appliance.receipts.config import ReceiptLimits
from appliance.security.config import TlsConfig
from appliance.serving import ConnectionSettings
from appliance.settings_base import Section, Slug, read_toml, validate
from appliance.sync.config import BrokerSection


class CentralSection(Section):
    """Which household this central serves."""

    household: Slug = "home"
    # Distinguishes processes in logs and MQTT client ids; two may run at once.
    instance: Slug = "central-1"
    # Central's own files: the TLS certificates and keys (data_dir/tls) when [tls] is on.
    data_dir: Path = Path("var/central")


class DatabaseSection(Section):
    """PostgreSQL."""

    dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/kitchen")
    dsn_file: Path | None = None
    min_connections: int = Field(default=2, ge=1, le=100)
    max_connections: int = Field(default=8, ge=1, le=100)

    def resolved_dsn(self) -> str:
        """The DSN, read from ``dsn_file`` when one is given."""
        if self.dsn_file is not None:
            return self.dsn_file.read_text(encoding="utf-8").strip()
        return self.dsn.get_secret_value()


class MqttSection(BrokerSection):
    """The household broker."""

    username: str | None = "central"
    # MQTT v5 shared subscription group: central processes in one group split the node traffic.
    share_group: str = "central"
    # Ingest batches handled at once (each is one PostgreSQL transaction).
    workers: int = Field(default=4, ge=1, le=64)
    publish_timeout: float = Field(default=10.0, gt=0)


class SyncSection(Section):
    """Ingest limits and catch-up."""

    max_payload_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_events: int = Field(default=1000, ge=1)
    page_size: int = Field(default=1000, ge=1, le=5000)
    # A node missing more events than this gets a snapshot first (when it can take one).
    snapshot_threshold: int = Field(default=20_000, ge=1)


class HttpSection(ConnectionSettings):
    """The HTTP API and dashboard, with the node's connection limits (``appliance.serving``)."""

    # Every route but health and login needs a session or a token, so central may listen on
    # the LAN ("0.0.0.0"); do that with [tls] enabled, or passwords cross the LAN in clear.
    # With TLS on, this port serves only the CA download page and redirects to tls.port.
    host: str = "127.0.0.1"
    port: int = Field(default=8090, ge=0, le=65535)
    ws_queue_limit: int = Field(default=256, ge=8, le=100_000)
    # Host names (or addresses) besides loopback and the hostname that clients use; any other
    # Host header is refused (DNS rebinding), as on the node.
    names: list[str] = Field(default_factory=list, max_length=64)


class NodesSection(Section):
    """How nodes reach the broker: what ``kitchen-central node add`` puts into their [sync].

    Unset values fall back to [mqtt] (central's own connection, often loopback).
    """

    broker_host: str | None = None
    broker_port: int | None = Field(default=None, ge=1, le=65535)
    # MQTT over TLS (the broker's LAN listener, a certificate from the household CA).
    broker_tls: bool = False
    # Where the node keeps the household CA certificate (PEM) that verifies the broker.
    ca_file: str | None = None


class AuthSection(Section):
    """Dashboard login: session lifetimes and the login rate limits (docs/security.md)."""

    # A session not used for this long ends; one older than session_max_days ends anyway.
    session_idle_days: float = Field(default=7, gt=0, le=365)
    session_max_days: float = Field(default=30, gt=0, le=3650)
    # Failed logins allowed per (account name, client address) within login_window_seconds.
    login_attempts: int = Field(default=5, ge=1, le=1000)
    # Failed logins allowed per client address (any names) within the window.
    address_attempts: int = Field(default=20, ge=1, le=10_000)
    login_window_seconds: float = Field(default=900, gt=0, le=86_400)
    # Password hashes computed at once (argon2id takes 64 MiB each).
    hash_concurrency: int = Field(default=2, ge=1, le=16)
    # Seconds between two checks that the open WebSockets' tokens and sessions still exist:
    # a token revoked by `kitchen-central token revoke` (another process) ends its sockets.
    revocation_check_seconds: float = Field(default=2, gt=0, le=60)


class OffSection(Section):
    """Open Food Facts enrichment."""

    enabled: bool = True
    base_url: str = "https://world.openfoodfacts.org"
    contact: str = "kitchen-appliance@example.org"
    timeout: float = Field(default=10.0, gt=0)
    max_age_days: float = Field(default=30, gt=0)
    # Seconds between retries of a lookup that failed (OFF down, 429, ...).
    retry_seconds: float = Field(default=300, gt=0)
    # Fetch product pictures, shrink them and send them to the nodes.
    pictures: bool = True


class ReceiptsSection(ReceiptLimits):
    """Receipt uploads (the node's limits) and the reading queue."""

    # Receipts read at once by this process (OCR is CPU-bound: one by default).
    workers: int = Field(default=1, ge=0, le=8)
    # Readings of one receipt before it fails with the last reason.
    max_attempts: int = Field(default=3, ge=1, le=20)
    # A job's lease, renewed while it is read; a job whose central died is taken again after.
    lease_seconds: float = Field(default=60.0, gt=0)
    # Seconds before a failed attempt is tried again (times the attempt number).
    retry_seconds: float = Field(default=30.0, ge=0)
    # How often an idle worker looks for jobs (another central's, or leases run out).
    poll_interval: float = Field(default=5.0, gt=0)
    # Longest one reading may take before it counts as a failed attempt.
    read_timeout: float = Field(default=60.0, gt=0)
    # The reading process is stopped (the attempt fails) past this resident memory.
    memory_cap_bytes: int = Field(default=1_000_000_000, ge=100_000_000)
    # False: no OCR model is loaded (a small central); text PDFs are still read.
    ocr: bool = True


class LanSection(Section):
    """Browsing the LAN for nodes, to show those that are not added yet."""

    browse: bool = True
    # Addresses to listen on; empty means every interface.
    interfaces: list[str] = Field(default_factory=list, max_length=16)


class NotifySection(Section):
    """Notifications (``central.notify``); what a household chooses is set through the API."""

    enabled: bool = True
    # Apprise URLs every notification goes to, besides those set through the API. Secrets:
    # shown masked by the API and by ``kitchen-central config``.
    urls: list[SecretStr] = Field(default_factory=list, max_length=20)
    # Seconds between looks at the household (and at failed deliveries).
    interval_seconds: float = Field(default=60.0, gt=0, le=3600)
    # First wait after a failed delivery, doubled per attempt up to retry_max_seconds.
    retry_seconds: float = Field(default=60.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=100)
    send_timeout: float = Field(default=30.0, gt=0, le=600)
    # Web Push: the VAPID "sub" claim, a mailto: or https: contact the push services may use.
    vapid_subject: str = Field(
        default="mailto:kitchen@example.org", pattern=r"^(mailto:|https://)\S+$"
    )

    @field_validator("urls")
    @classmethod
    def _urls_valid(cls, urls: list[SecretStr]) -> list[SecretStr]:
        from central.notify.targets import check_url

        for i, url in enumerate(urls):
            problem = check_url(url.get_secret_value())
            if problem is not None:
                raise ValueError(f"URL {i + 1}: {problem}")
        return urls


class HomeAssistantSection(Section):
    """Home Assistant MQTT discovery (docs/home-assistant.md)."""

    enabled: bool = True
    # Home Assistant's discovery prefix (its MQTT integration's setting); one topic level.
    prefix: Slug = "homeassistant"
    # Changes within this many seconds go out as one republish of the household states.
    debounce: float = Field(default=2.0, ge=0.05, le=600)
    # The household states are published again this often, so "due soon" follows the date.
    refresh: float = Field(default=300.0, ge=1, le=86_400)
    # Names listed in a count's attributes, at most.
    max_items: int = Field(default=20, ge=0, le=100)


class CentralConfig(Section):
    """The whole central configuration."""

    central: CentralSection = CentralSection()
    database: DatabaseSection = DatabaseSection()
    mqtt: MqttSection = MqttSection()
    sync: SyncSection = SyncSection()
    http: HttpSection = HttpSection()
    # HTTPS from the household CA (the node's [tls] keys; tls.ca_cert/ca_key share a node's CA).
    tls: TlsConfig = TlsConfig()
    auth: AuthSection = AuthSection()
    nodes: NodesSection = NodesSection()
    off: OffSection = OffSection()
    receipts: ReceiptsSection = ReceiptsSection()
    lan: LanSection = LanSection()
    notify: NotifySection = NotifySection()
    homeassistant: HomeAssistantSection = HomeAssistantSection()

    @model_validator(mode="after")
    def _cross_checks(self) -> CentralConfig:
        if self.database.min_connections > self.database.max_connections:
            raise ValueError("database.min_connections must not exceed max_connections")
        if self.mqtt.workers > self.database.max_connections:
            raise ValueError("mqtt.workers must not exceed database.max_connections")
        if self.auth.session_idle_days > self.auth.session_max_days:
            raise ValueError("auth.session_idle_days must not exceed auth.session_max_days")
        return self


def build_config(data: dict[str, Any], source: str = "configuration") -> CentralConfig:
    """Validate a configuration mapping; raise ConfigError listing every problem."""
    return validate(CentralConfig, data, source)


def load_config(path: Path | None = None) -> CentralConfig:
    """Load the TOML file (or defaults), with ``KITCHEN_CENTRAL_DSN`` overriding the DSN."""
    data: dict[str, Any] = {}
    source = "configuration"
    if path is not None:
        source = str(path)
        data = read_toml(path)
    if "KITCHEN_CENTRAL_DSN" in os.environ:
        data.setdefault("database", {})["dsn"] = os.environ["KITCHEN_CENTRAL_DSN"]
    return build_config(data, source)


def masked(config: CentralConfig) -> dict[str, Any]:
    """The effective configuration as plain data, secrets shown as '**********'."""
    return config.model_dump(mode="json")
