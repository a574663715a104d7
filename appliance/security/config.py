"""Configuration of HTTPS for the node."""

from __future__ import annotations

from appliance.settings_base import Section


class TlsConfig(Section):
    """HTTPS from a household CA; off by default on a laptop."""

    enabled: bool = False
