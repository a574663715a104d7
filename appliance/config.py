"""The node's configuration: one TOML file, typed, unknown keys rejected, every error listed.

Sections owned by an adapter live beside it (``hardware/config.py``, ``sync/config.py``,
``security/config.py``); this module puts them together and loads the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from yarl import URL

from appliance.hardware.config import ButtonsConfig, DisplayConfig, FeedbackConfig, ScannerConfig
from appliance.labels.config import LabelsConfig
from appliance.lan.config import MdnsConfig
from appliance.receipts.config import ReceiptLimits
from appliance.security.config import TlsConfig
from appliance.serving import ConnectionSettings
from appliance.settings_base import ConfigError, Section, Slug, read_toml, validate
from appliance.sync.config import SyncConfig

__all__ = ["ConfigError", "NodeConfig", "build_config", "load_config", "masked"]

MASK = "********"

ScanModeName = Literal["add", "consume", "lookup", "open", "spoiled", "shopping"]


class NodeSection(Section):
    """Who this node is within the household."""

    id: Slug = "kitchen"
    household: Slug = "home"
    name: str = "Kitchen"
    # The scan box's display texts and date format (the web app follows each browser).
    language: Literal["en", "de"] = "en"


class HttpSection(ConnectionSettings):
    """The HTTP server: where it listens, and what it keeps (connection limits are shared)."""

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    # Largest request body read whole; scans and edits are tiny. Receipt uploads are streamed
    # to disk instead, bounded by [receipts].
    max_body_bytes: int = Field(default=256 * 1024, ge=1024, le=64 * 1024 * 1024)
    # A WebSocket client that falls this many messages behind is disconnected.
    ws_queue_limit: int = Field(default=256, ge=8, le=100_000)
    # Write requests in progress at once (each waits for the one database writer); more are
    # answered 503 with Retry-After at once, so the accepted ones stay fast. Also refused
    # while several are in progress and the oldest has waited longer than max_write_wait_ms.
    max_pending_writes: int = Field(default=32, ge=1, le=10_000)
    max_write_wait_ms: float = Field(default=100, gt=0, le=60_000)
    retry_after_seconds: int = Field(default=1, ge=1, le=3600)
    # Extra names (or addresses) clients reach the node by, e.g. a DNS alias. Requests with any
    # other Host header are refused (DNS rebinding); the hostname, hostname.local, loopback,
    # tls.hostnames and the node's own addresses are always accepted.
    names: list[str] = Field(default_factory=list, max_length=64)

    @field_validator("names")
    @classmethod
    def _host_names(cls, value: list[str]) -> list[str]:
        from appliance.core.hosts import host_name

        bad = [n for n in value if host_name(f"[{n}]" if ":" in n else n) is None or "/" in n]
        if bad:
            raise ValueError(f"not valid host names or addresses: {', '.join(bad)}")
        return value


class StorageSection(Section):
    """Where the node keeps its database and keys."""

    data_dir: Path = Path("var/node")


class ModesSection(Section):
    """Scan modes: the household default and when a station falls back to it."""

    default: ScanModeName = "add"
    # 0 keeps a chosen mode until changed; otherwise fall back after this many seconds idle.
    revert_after_seconds: float = Field(default=0, ge=0, le=86_400)
    # Fall back to the default after a single scan in another mode.
    revert_after_scan: bool = False
    # The order a single "cycle" button walks through.
    cycle: list[ScanModeName] = ["add", "consume", "lookup"]  # noqa: RUF012 (pydantic copies it)
    # Some scanners cannot send ASCII 29 (GS); they can be set to send this character instead.
    group_separator_substitute: str | None = None

    @field_validator("group_separator_substitute")
    @classmethod
    def _one_char(cls, value: str | None) -> str | None:
        if value is not None and len(value) != 1:
            raise ValueError("must be exactly one character")
        return value

    @field_validator("cycle")
    @classmethod
    def _cycle_not_empty(cls, value: list[str]) -> list[str]:
        if not value or len(set(value)) != len(value):
            raise ValueError("must list at least one mode, each once")
        return value


class NodeConfig(Section):
    """The whole node configuration."""

    node: NodeSection = NodeSection()
    http: HttpSection = HttpSection()
    storage: StorageSection = StorageSection()
    modes: ModesSection = ModesSection()
    scanner: ScannerConfig = ScannerConfig()
    display: DisplayConfig = DisplayConfig()
    buttons: ButtonsConfig = ButtonsConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    sync: SyncConfig = SyncConfig()
    tls: TlsConfig = TlsConfig()
    receipts: ReceiptLimits = ReceiptLimits()
    mdns: MdnsConfig = MdnsConfig()
    labels: LabelsConfig = LabelsConfig()

    @model_validator(mode="after")
    def _cross_checks(self) -> NodeConfig:
        if self.modes.default not in self.modes.cycle and len(self.modes.cycle) > 1:
            raise ValueError("modes.default must be one of modes.cycle")
        return self

    @property
    def database_path(self) -> Path:
        """The SQLite database file."""
        return self.storage.data_dir / "kitchen.sqlite3"


def build_config(data: dict[str, Any], source: str = "configuration") -> NodeConfig:
    """Validate a configuration mapping; raise ConfigError listing every problem."""
    return validate(NodeConfig, data, source)


def load_config(
    path: Path | None = None,
    *,
    data_dir: Path | None = None,
    port: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> NodeConfig:
    """Load the TOML file (if any), apply command-line overrides and validate."""
    data: dict[str, Any] = {}
    source = "configuration"
    if path is not None:
        source = str(path)
        data = read_toml(path)
    for section, values in (overrides or {}).items():
        data.setdefault(section, {}).update(values)
    if data_dir is not None:
        data.setdefault("storage", {})["data_dir"] = str(data_dir)
    elif "KITCHEN_DATA_DIR" in os.environ and "data_dir" not in data.get("storage", {}):
        data.setdefault("storage", {})["data_dir"] = os.environ["KITCHEN_DATA_DIR"]
    if port is not None:
        data.setdefault("http", {})["port"] = port
    return build_config(data, source)


def masked(config: NodeConfig) -> dict[str, Any]:
    """Return the effective configuration as plain data, secrets replaced by '********'.

    The label printer's webhook may carry a password in its URL (``http://user:pass@host/``);
    only the password is hidden, so the output still says which host and user it is.
    """
    data = config.model_dump(mode="json")
    labels = data.get("labels") or {}
    if labels.get("webhook"):
        labels["webhook"] = masked_url(labels["webhook"])
    return data


def masked_url(value: str) -> str:
    """``value`` with the password of its user information (if any) replaced by '********'."""
    url = URL(value)
    if url.password is None:
        return value
    return str(url.with_password(MASK))
