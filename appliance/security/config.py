"""Configuration of HTTPS for the node."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from appliance.settings_base import Section

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


class TlsConfig(Section):
    """HTTPS from a household CA; off by default on a laptop.

    When enabled, the app is served over HTTPS on ``port`` and plain HTTP (``http.port``) only
    offers the CA certificate with install steps and redirects everything else.
    """

    enabled: bool = False
    # The HTTPS port; plain HTTP stays on http.port for the CA download page.
    port: int = Field(default=8443, ge=1, le=65535)
    # Extra DNS names for the server certificate (the hostname and <hostname>.local are added).
    hostnames: list[str] = Field(default_factory=list)
    # Extra IP addresses for the certificate (loopback and detected LAN addresses are added).
    addresses: list[IPv4Address | IPv6Address] = Field(default_factory=list)
    # Add the node's current LAN addresses; the certificate is renewed when they change.
    detect_addresses: bool = True
    # iPadOS rejects server certificates valid for more than 825 days.
    server_cert_days: int = Field(default=825, ge=1, le=825)
    # Renew the server certificate at start when it expires within this many days.
    renew_before_days: int = Field(default=30, ge=1, le=365)
    # Use a household CA shared with other nodes (both files, PEM; the key is kept private).
    ca_cert: Path | None = None
    ca_key: Path | None = None
    # The CA's common name when this node creates the household CA.
    ca_name: str = Field(default="Kitchen household CA", min_length=1, max_length=64)

    @field_validator("hostnames")
    @classmethod
    def _dns_names(cls, value: list[str]) -> list[str]:
        bad = [name for name in value if not _DNS_RE.match(name)]
        if bad:
            raise ValueError(f"not valid DNS names: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _ca_pair(self) -> TlsConfig:
        if (self.ca_cert is None) != (self.ca_key is None):
            raise ValueError("tls.ca_cert and tls.ca_key must be given together")
        return self
