"""The machine's own LAN addresses, without loading the TLS code (cryptography is large).

The Host check needs them on every node; the certificate needs them only with TLS on.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def local_addresses() -> list[IPAddress]:
    """Best-effort list of this machine's LAN addresses (no packets are sent)."""
    found: set[IPAddress] = set()
    # Connecting a UDP socket only picks the route: the source address is the LAN address.
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))
            found.add(ipaddress.ip_address(sock.getsockname()[0].split("%")[0]))
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            found.add(ipaddress.ip_address(str(info[4][0]).split("%")[0]))
    usable = [a for a in found if not (a.is_loopback or a.is_link_local or a.is_unspecified)]
    return sorted(usable, key=lambda a: (a.version, int(a)))
