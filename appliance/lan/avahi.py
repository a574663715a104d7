"""The Avahi service file that announces a node where Avahi runs (Raspberry Pi OS).

Avahi reads ``/etc/avahi/services/*.service`` and answers for the machine's own name and
addresses, so the file names only the service types, the port and the TXT records. The
provisioning writes it with ``kitchen-node mdns avahi-service``; it must be written again when
the node's id, household or port change.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from appliance.lan.records import Announcement

SERVICE_FILE = Path("/etc/avahi/services/kitchen-node.service")
# Where a running Avahi keeps its pid; its presence is how "auto" tells Avahi is there.
AVAHI_RUNNING = Path("/run/avahi-daemon/pid")


def service_file(ann: Announcement) -> str:
    """The XML of the Avahi service file for ``ann``."""
    lines = [
        '<?xml version="1.0" standalone="no"?>',
        '<!DOCTYPE service-group SYSTEM "avahi-service.dtd">',
        "<!-- Written by kitchen-node mdns avahi-service; run it again after changing the",
        "     node's id, household or port. -->",
        "<service-group>",
        # replace-wildcards: %h is the host name, so two nodes with one name stay apart.
        f'  <name replace-wildcards="yes">{escape(ann.instance)} on %h</name>',
    ]
    for service_type, txt in ann.services():
        lines += [
            "  <service>",
            f"    <type>{service_type.removesuffix('.local.')}</type>",
            f"    <port>{ann.port}</port>",
            *(f"    <txt-record>{escape(k)}={escape(v)}</txt-record>" for k, v in txt.items()),
            "  </service>",
        ]
    lines.append("</service-group>")
    return "\n".join(lines) + "\n"


def avahi_running(pid_file: Path = AVAHI_RUNNING) -> bool:
    """Whether an Avahi daemon runs on this machine (its pid file exists)."""
    return pid_file.exists()
