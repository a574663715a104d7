"""Which ``Host`` header names this server (against DNS rebinding); pure, shared with central.

A page on ``http://evil.example`` whose name an attacker's DNS re-points at the node sends
``Host: evil.example``: refusing every Host but the server's own names and addresses stops it,
whatever Origin the page claims. An IP literal is accepted when it is one of the configured
addresses or the very address the client connected to (a LAN address that DHCP changed).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


# Both are asked on every request with the same few headers and addresses; ipaddress is slow
# enough to show on the scan path. Bounded: a client sending ever new Host headers only
# evicts entries.
@functools.lru_cache(maxsize=256)
def _normal_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def host_name(header: str) -> str | None:
    """The name or address of a Host header, lowercased, without port or brackets.

    None when the header is malformed (a bad port, an unclosed bracket, empty).
    """
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        return _normal_ip(name)
    if value.count(":") > 1:
        return _normal_ip(value)  # a bare IPv6 address, as some clients send
    name, _, port = value.partition(":")
    if (port and not (port.isascii() and port.isdigit())) or (not port and value.endswith(":")):
        return None
    name = name.rstrip(".")
    if not name:
        return None
    return _normal_ip(name) or name


def normal_names(names: Iterable[str]) -> frozenset[str]:
    """Names and addresses as ``host_name`` returns them, loopback always included."""
    found = set()
    for name in (*LOOPBACK_NAMES, *names):
        normal = host_name(f"[{name}]" if ":" in name else name)
        if normal:
            found.add(normal)
    return frozenset(found)


def host_allowed(header: str | None, names: frozenset[str], local_address: str | None) -> bool:
    """True when ``header`` names this server (``names`` from ``normal_names``).

    A request without a Host header comes from no browser (HTTP/1.0 tools) and passes.
    """
    if header is None:
        return True
    name = host_name(header)
    if name is None:
        return False
    if name in names:
        return True
    return local_address is not None and name == _normal_ip(local_address)
