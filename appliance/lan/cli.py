"""``kitchen-node discover`` and ``kitchen-node mdns avahi-service``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

from appliance.config import NodeConfig


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Add the LAN commands to the node's command line (``common`` adds --config)."""
    discover = sub.add_parser("discover", help="list the kitchen nodes announced on the LAN")
    discover.add_argument(
        "--timeout", type=float, default=3.0, help="seconds to listen (default 3)"
    )
    discover.add_argument("--json", action="store_true", help="one JSON object per line")
    discover.add_argument(
        "--interface",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="listen on this address only (repeatable; default: every interface)",
    )
    mdns = sub.add_parser("mdns", help="mDNS announcement")
    mdns_sub = mdns.add_subparsers(dest="mdns_command", required=True)
    service = mdns_sub.add_parser(
        "avahi-service", help="print the Avahi service file that announces this node"
    )
    common(service)


def discover(args: argparse.Namespace) -> int:
    """Browse for ``--timeout`` seconds and print the nodes found."""
    from appliance.lan.browse import discover as browse

    if not 0 < args.timeout <= 60:
        sys.stderr.write("kitchen-node: --timeout must be between 0 and 60 seconds\n")
        return 2
    found = asyncio.run(browse(args.timeout, args.interface))
    if args.json:
        for node in found:
            sys.stdout.write(json.dumps(node.as_dict(), ensure_ascii=False) + "\n")
        return 0
    if not found:
        sys.stderr.write("no kitchen nodes found on the LAN\n")
        return 1
    for node in found:
        sys.stdout.write(f"{node.household}/{node.node_id}\t{node.instance}\t{node.url}\n")
    return 0


def avahi_service(config: NodeConfig) -> int:
    """Print the Avahi service file for this node's configuration."""
    from appliance.lan.announce import node_announcement
    from appliance.lan.avahi import service_file

    port = config.tls.port if config.tls.enabled else config.http.port
    ann = node_announcement(
        config.mdns.model_copy(update={"interfaces": ["127.0.0.1"]}),  # Avahi adds addresses
        name=config.node.name,
        node_id=config.node.id,
        household=config.node.household,
        port=port,
        tls=config.tls.enabled,
    )
    sys.stdout.write(service_file(ann))
    return 0
