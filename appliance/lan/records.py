"""What a node announces over DNS-SD, and how an announcement is read back. No I/O.

A node announces ``_kitchen._tcp`` for our own tools (``kitchen-node discover``, central), with
TXT records that say which node and household it is and which API it speaks; and
``_https._tcp`` (or ``_http._tcp`` without TLS) so that a browser's or an app's service list
shows "Kitchen" too. TXT values are short ASCII (RFC 6763 §6): ids are slugs already.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KITCHEN_TYPE = "_kitchen._tcp.local."
HTTPS_TYPE = "_https._tcp.local."
HTTP_TYPE = "_http._tcp.local."
# The version of the node's HTTP API and sync protocol that a TXT record names; a client that
# does not know the version it finds lists the node but does not talk to it.
API_VERSION = "1"
# A DNS label holds at most 63 bytes (RFC 6763 §4.1.1); longer instance names are cut.
_MAX_INSTANCE = 63


@dataclass(frozen=True)
class Announcement:
    """One node's DNS-SD records: its instance name, where it listens, and its TXT keys."""

    instance: str
    host: str  # the name clients resolve, "pantry.local."
    port: int
    addresses: tuple[str, ...]
    node_id: str
    household: str
    tls: bool
    version: str

    def txt(self) -> dict[str, str]:
        """The TXT keys of ``_kitchen._tcp`` (short on purpose: every query answer has them)."""
        return {
            "id": self.node_id,
            "hh": self.household,
            "api": API_VERSION,
            "v": self.version,
            "tls": "1" if self.tls else "0",
            "path": "/",
        }

    def services(self) -> list[tuple[str, dict[str, str]]]:
        """Each service type announced, with its TXT keys."""
        web = HTTPS_TYPE if self.tls else HTTP_TYPE
        return [(KITCHEN_TYPE, self.txt()), (web, {"path": "/"})]


def announcement(
    *,
    name: str,
    hostname: str,
    port: int,
    addresses: list[str],
    node_id: str,
    household: str,
    tls: bool,
    version: str,
) -> Announcement:
    """The announcement of a node called ``name`` on the machine ``hostname``."""
    short = hostname.split(".")[0].lower() or "kitchen"
    instance = " ".join(name.split())[:_MAX_INSTANCE].strip() or node_id
    return Announcement(
        instance=instance,
        host=f"{short}.local.",
        port=port,
        addresses=tuple(addresses),
        node_id=node_id,
        household=household,
        tls=tls,
        version=version,
    )


@dataclass(frozen=True)
class FoundNode:
    """A node seen on the LAN, as its announcement describes it."""

    instance: str
    node_id: str
    household: str
    api: str
    version: str
    host: str
    port: int
    tls: bool
    addresses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        """The address a browser opens: the ``.local`` name, which iPad Safari resolves."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host.rstrip('.')}:{self.port}/"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (for ``discover --json`` and central's API)."""
        return {
            "instance": self.instance,
            "node": self.node_id,
            "household": self.household,
            "api": self.api,
            "version": self.version,
            "host": self.host.rstrip("."),
            "port": self.port,
            "tls": self.tls,
            "addresses": list(self.addresses),
            "url": self.url,
        }


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def read_found(
    *,
    name: str,
    server: str | None,
    port: int | None,
    properties: dict[bytes, bytes | None] | dict[str, str | None],
    addresses: list[str],
) -> FoundNode | None:
    """A ``FoundNode`` from a resolved ``_kitchen._tcp`` record, or None if it is not ours.

    Anyone on the LAN can announce anything: a record without a node id, with a port out of
    range or without a host is ignored rather than listed.
    """
    txt = {_text(k).lower(): _text(v) for k, v in properties.items()}
    node_id = txt.get("id", "")
    if not node_id or not server or not port or not 0 < port < 65536:
        return None
    instance = name.removesuffix("." + KITCHEN_TYPE).replace("\\.", ".")
    return FoundNode(
        instance=instance[:_MAX_INSTANCE],
        node_id=node_id[:64],
        household=txt.get("hh", "")[:64],
        api=txt.get("api", "")[:8],
        version=txt.get("v", "")[:32],
        host=server,
        port=port,
        tls=txt.get("tls") == "1",
        addresses=tuple(sorted(addresses)),
    )
