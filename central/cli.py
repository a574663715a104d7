"""The ``kitchen-central`` command: run, config, setup, node add, user, token."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from appliance.settings_base import ConfigError
from central.config import CentralConfig, load_config, masked

log = logging.getLogger(__name__)

DEFAULT_CONFIG = Path("/etc/kitchen-central/config.toml")
DEFAULT_PASSWORD_FILE = Path("/etc/mosquitto/passwd")
DEFAULT_ACL_FILE = Path("/etc/mosquitto/acl")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kitchen-central", description=__doc__)
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the aggregator (MQTT ingest, PostgreSQL, HTTP)")
    sub.add_parser("config", help="validate and print the effective configuration")
    node = sub.add_parser("node", help="manage nodes")
    node_sub = node.add_subparsers(dest="node_command", required=True)
    add = node_sub.add_parser("add", help="create a node's broker login and print its [sync]")
    add.add_argument("name", help="the node id (also its broker username)")
    add.add_argument("--password-file", type=Path, default=DEFAULT_PASSWORD_FILE)
    add.add_argument("--acl-file", type=Path, default=DEFAULT_ACL_FILE)
    add.add_argument("--broker-host", help="address the node connects to (default: mqtt.host)")
    add.add_argument("--broker-port", type=int, help="port the node connects to")
    add.add_argument("--owner", help="owner of the broker files, e.g. mosquitto")
    add.add_argument(
        "--reload",
        action="store_true",
        help="then reload the broker (systemctl reload mosquitto) so that it reads the login",
    )
    remove = node_sub.add_parser(
        "remove", help="remove a node: its broker login, and its device from Home Assistant"
    )
    remove.add_argument("name", help="the node id")
    remove.add_argument("--password-file", type=Path, default=DEFAULT_PASSWORD_FILE)
    remove.add_argument("--acl-file", type=Path, default=DEFAULT_ACL_FILE)
    remove.add_argument("--owner", help="owner of the broker files, e.g. mosquitto")
    remove.add_argument(
        "--keep-retained",
        action="store_true",
        help="do not connect to the broker to clear the node's retained topics",
    )
    ha = sub.add_parser("ha", help="Home Assistant")
    ha_sub = ha.add_subparsers(dest="ha_command", required=True)
    ha_add = ha_sub.add_parser(
        "add", help="create Home Assistant's broker login and print its MQTT settings"
    )
    ha_add.add_argument("name", nargs="?", default="homeassistant", help="its broker username")
    ha_add.add_argument("--password-file", type=Path, default=DEFAULT_PASSWORD_FILE)
    ha_add.add_argument("--acl-file", type=Path, default=DEFAULT_ACL_FILE)
    ha_add.add_argument("--broker-host", help="address HA connects to (default: mqtt.host)")
    ha_add.add_argument("--broker-port", type=int, help="port HA connects to")
    ha_add.add_argument("--owner", help="owner of the broker files, e.g. mosquitto")
    from central.auth.cli import add_parsers
    from central.setup import add_parser as add_setup

    auth_commands = add_parsers(sub)
    add_setup(sub)
    # Both spellings work: "kitchen-central run --config FILE" reads naturally too.
    for child in (sub.choices["run"], sub.choices["config"], add, remove, ha_add, *auth_commands):
        child.add_argument("--config", type=Path, dest="sub_config", help=argparse.SUPPRESS)
    return parser


def _node_add(config: CentralConfig, args: argparse.Namespace) -> int:
    try:
        from central.credentials import CredentialsError, add_node
    except ImportError:  # the credentials module ships with the broker tooling
        sys.stderr.write("kitchen-central: broker credential tooling is not installed" + "\n")
        return 2
    nodes = config.nodes
    try:
        creds = add_node(
            args.name,
            password_file=args.password_file,
            acl_file=args.acl_file,
            household=config.central.household,
            host=args.broker_host or nodes.broker_host or config.mqtt.host,
            port=args.broker_port or nodes.broker_port or config.mqtt.port,
            owner=args.owner,
        )
    except (CredentialsError, OSError) as exc:
        sys.stderr.write(f"kitchen-central: {exc}" + "\n")
        return 1
    if nodes.broker_tls:
        creds = dataclasses.replace(creds, tls=True, ca_file=nodes.ca_file)
    sys.stdout.write(creds.sync_toml())
    if not args.reload:
        sys.stderr.write("# Reload the broker so it reads the login: systemctl reload mosquitto\n")
        return 0
    reload = subprocess.run(
        ["systemctl", "reload", "mosquitto.service"], capture_output=True, text=True, check=False
    )
    if reload.returncode != 0:
        sys.stderr.write(f"kitchen-central: reloading the broker failed: {reload.stderr.strip()}\n")
        return 1
    sys.stderr.write("# The broker has read the new login.\n")
    return 0


def default_config_path(env: Mapping[str, str] | None = None) -> Path | None:
    """``$KITCHEN_CENTRAL_CONFIG``, else the file ``kitchen-central setup`` writes when it
    exists (so that ``sudo kitchen-central user add NAME`` needs no ``--config``), else None."""
    env = os.environ if env is None else env
    if env.get("KITCHEN_CENTRAL_CONFIG"):
        return Path(env["KITCHEN_CENTRAL_CONFIG"])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None


def log_format(env: Mapping[str, str] | None = None) -> str:
    """Log lines with a timestamp, except under journald (``$JOURNAL_STREAM`` set), which
    stamps time and unit itself (as the node does)."""
    env = os.environ if env is None else env
    if env.get("JOURNAL_STREAM"):
        return "%(levelname)s %(name)s: %(message)s"
    return "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _node_remove(config: CentralConfig, args: argparse.Namespace) -> int:
    from central.credentials import CredentialsError, remove_node

    try:
        had_login = remove_node(
            args.name,
            password_file=args.password_file,
            acl_file=args.acl_file,
            household=config.central.household,
            central_user=config.mqtt.username or "central",
            owner=args.owner,
        )
    except (CredentialsError, OSError) as exc:
        sys.stderr.write(f"kitchen-central: {exc}" + "\n")
        return 1
    sys.stderr.write(
        f"# {'Removed' if had_login else 'No'} broker login for node {args.name!r};"
        " reload the broker: systemctl reload mosquitto\n"
    )
    if args.keep_retained:
        return 0
    from central.homeassistant.removal import clear_node

    try:
        asyncio.run(clear_node(config, args.name))
    except (OSError, TimeoutError, ConnectionError) as exc:
        sys.stderr.write(f"kitchen-central: could not clear the node's retained topics: {exc}\n")
        return 1
    sys.stderr.write(f"# Cleared node {args.name!r}'s status, info and Home Assistant device\n")
    return 0


def _ha_add(config: CentralConfig, args: argparse.Namespace) -> int:
    from central.credentials import CredentialsError, add_ha

    try:
        creds = add_ha(
            args.name,
            password_file=args.password_file,
            acl_file=args.acl_file,
            household=config.central.household,
            prefix=config.homeassistant.prefix,
            host=args.broker_host or config.mqtt.host,
            port=args.broker_port or config.mqtt.port,
            central_user=config.mqtt.username or "central",
            owner=args.owner,
        )
    except (CredentialsError, OSError) as exc:
        sys.stderr.write(f"kitchen-central: {exc}" + "\n")
        return 1
    sys.stdout.write(
        "# Home Assistant: Settings > Devices & services > Add integration > MQTT\n"
        f"broker: {creds.host}\n"
        f"port: {creds.port}\n"
        f"username: {creds.username}\n"
        f"password: {creds.password}\n"
        f"discovery_prefix: {config.homeassistant.prefix}\n"
    )
    sys.stderr.write("# Reload the broker so it reads the new login: systemctl reload mosquitto\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``kitchen-central``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=log_format(), stream=sys.stderr)
    if args.command == "setup":  # it writes the configuration: there is none to read yet
        from central.setup import main as setup_main

        return setup_main(args)
    path = getattr(args, "sub_config", None) or args.config or default_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        sys.stderr.write(f"kitchen-central: {exc}" + "\n")
        return 2
    if args.command == "config":
        sys.stdout.write(json.dumps(masked(config), indent=2) + "\n")
        return 0
    if args.command == "node":
        if args.node_command == "remove":
            return _node_remove(config, args)
        return _node_add(config, args)
    if args.command in ("user", "token"):
        from central.auth.cli import run as run_auth

        return run_auth(config, args)
    if args.command == "ha":
        return _ha_add(config, args)
    from appliance import eventloop
    from central.app import run

    try:
        eventloop.run(run(config))
    except OSError as exc:
        sys.stderr.write(f"kitchen-central: {exc}" + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
