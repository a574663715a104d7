"""The ``[mdns]`` section: how the node makes itself known on the LAN."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from appliance.settings_base import Section


class MdnsConfig(Section):
    """mDNS/DNS-SD announcement of the node.

    ``auto`` leaves it to Avahi where Avahi runs (Raspberry Pi OS runs it, and a second mDNS
    responder beside it causes trouble), and announces in-process with python-zeroconf where it
    does not (a laptop). ``avahi`` never announces in-process; ``zeroconf`` always does.
    """

    mode: Literal["auto", "avahi", "zeroconf", "off"] = "auto"
    # Addresses to announce on (and to put in the address records); empty means every LAN
    # address of the machine. Tests use ["127.0.0.1"].
    interfaces: list[str] = Field(default_factory=list, max_length=16)
    # The instance name a service browser shows; empty means the node's name.
    name: str = Field(default="", max_length=63)

    @field_validator("interfaces")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        import ipaddress

        bad = []
        for item in value:
            try:
                ipaddress.ip_address(item)
            except ValueError:
                bad.append(item)
        if bad:
            raise ValueError(f"not IP addresses: {', '.join(bad)}")
        return value
