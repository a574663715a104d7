"""The ``kitchen-node`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path

from appliance import __version__
from appliance.config import ConfigError, NodeConfig, load_config, masked
from appliance.store import StoreError


def _setup_logging(verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    if os.environ.get("JOURNAL_STREAM"):
        # journald stamps time and unit itself; keep lines short and greppable.
        fmt = "%(levelname)s %(name)s: %(message)s"
    else:
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def _config(args: argparse.Namespace) -> NodeConfig:
    path = args.config
    if path is None and "KITCHEN_CONFIG" in os.environ:
        path = Path(os.environ["KITCHEN_CONFIG"])
    return load_config(path, data_dir=args.data_dir, port=getattr(args, "port", None))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", type=Path, help="where the database and keys live")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="kitchen-node", description="A kitchen inventory node.")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the node")
    _common(run)
    run.add_argument("--port", type=int, help="HTTP port (overrides the configuration)")

    config = sub.add_parser("config", help="validate and print the effective configuration")
    _common(config)

    token = sub.add_parser("token", help="device tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a token and print it once")
    _common(create)
    create.add_argument("--name", default="cli", help="a name to recognise the token by")
    create.add_argument(
        "--role",
        choices=("owner", "kitchen"),
        default="owner",
        help="owner: may also list, promote and revoke devices; kitchen: the kitchen only",
    )
    listing = token_sub.add_parser("list", help="list tokens with their kind and role")
    _common(listing)
    revoke = token_sub.add_parser("revoke", help="revoke a token by id")
    _common(revoke)
    revoke.add_argument("token_id")

    from appliance.lan.cli import add_commands

    add_commands(sub, _common)

    barcodes = sub.add_parser("barcodes", help="print the sheet of mode barcodes")
    barcodes.add_argument("--out", type=Path, required=True, help="output .pdf, .svg or .png")

    tls = sub.add_parser("tls", help="household certificates")
    tls_sub = tls.add_subparsers(dest="tls_command", required=True)
    init = tls_sub.add_parser("init", help="create the CA and server certificate if missing")
    _common(init)
    init.add_argument(
        "--import-ca",
        nargs=2,
        type=Path,
        metavar=("CERT", "KEY"),
        help="share another node's household CA",
    )
    return parser


async def _token(args: argparse.Namespace, config: NodeConfig) -> int:
    from appliance.security.tokens import TokenStore
    from appliance.store import Store

    store = await Store.open(config.database_path, config.node.id)
    try:
        tokens = TokenStore(store)
        if args.token_command == "create":
            _, token = await tokens.create(args.name, role=args.role)
            print(token)
        elif args.token_command == "list":
            print(json.dumps(await tokens.list(), indent=2))
        else:
            if not await tokens.revoke(args.token_id):
                print(f"no active token {args.token_id}", file=sys.stderr)
                return 1
    finally:
        await store.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "barcodes":
            from appliance.barcode_sheet import render_mode_sheet

            render_mode_sheet(args.out)
            print(f"wrote {args.out}")
            return 0
        if args.command == "discover":
            from appliance.lan.cli import discover

            return discover(args)
        config = _config(args)
        if args.command == "mdns":
            from appliance.lan.cli import avahi_service

            return avahi_service(config)
        if args.command == "config":
            print(json.dumps(masked(config), indent=2, ensure_ascii=False))
            return 0
        if args.command == "token":
            return asyncio.run(_token(args, config))
        if args.command == "tls":
            from appliance.security.tls import ensure_certificates, fingerprint, import_ca

            if args.import_ca:
                import_ca(args.import_ca[0], args.import_ca[1], config.storage.data_dir)
            paths = ensure_certificates(config.tls, config.storage.data_dir)
            from cryptography import x509

            ca = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
            print(f"CA: {paths.ca_cert} (SHA-256 {fingerprint(ca)})")
            print(f"server certificate: {paths.server_cert}")
            return 0
        # Large blocks mapped on their own from here on (biip's table text among them); then
        # drop biip's unused table before aiohttp and the app load, so they reuse its memory.
        from appliance.memory import trim_library_tables, tune_allocator

        tune_allocator()
        trim_library_tables()
        from appliance import eventloop
        from appliance.app import serve

        eventloop.run(serve(config, reload=lambda: _config(args)))
        return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"kitchen-node: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
