"""``make demo``: a broker, central and two nodes on this machine; scan on one, watch the other.

    .venv/bin/python -m tests.perf.demo            # start everything, print what to try, wait
    .venv/bin/python -m tests.perf.demo --fresh    # forget earlier demo data first
    .venv/bin/python -m tests.perf.demo watch URL TOKEN   # print a node's WebSocket messages

It uses the running PostgreSQL (``KITCHEN_DEMO_PG``, default
``postgresql://postgres@127.0.0.1:5432``; database ``kitchen_demo``, created when missing),
starts its own Mosquitto from the project's templates (``firmware/broker`` through
``central.credentials``) on port 1884 (or a free one), ``kitchen-central`` on 8090, and nodes
``node-a`` on 8080 and ``node-b`` on 8081, each with a ``[sync]`` section printed by
``kitchen-central node add``. Everything lives in ``var/demo/`` (configurations, logs, node
databases). Open Food Facts enrichment is switched off (``[off] enabled = false``): this
machine has no internet, and the demo must not depend on it.

Ctrl-C (SIGINT) or SIGTERM stops every process it started, in reverse order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from central.credentials import add_central, render_broker_config
from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = ROOT / "var" / "demo"
HOUSEHOLD = "home"
DATABASE = "kitchen_demo"
SERVER_DSN = os.environ.get("KITCHEN_DEMO_PG", "postgresql://postgres@127.0.0.1:5432")
MOSQUITTO = os.environ.get("KITCHEN_DEMO_MOSQUITTO", "/usr/sbin/mosquitto")
CENTRAL_PORT = 8090
NODES = (("node-a", 8080), ("node-b", 8081))
BROKER_PORT = 1884
DASHBOARD_USER = "demo"
EAN = "4006381333931"  # a Staedtler pencil: a valid EAN-13 that every scanner reads


def _dsn(database: str) -> str:
    parts = urlsplit(SERVER_DSN)
    return urlunsplit(parts._replace(path="/" + database))


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _command(script: str, module: str) -> list[str]:
    """The venv's console script (``kitchen-central``), or ``python -m`` when it is missing."""
    path = Path(sys.executable).parent / script
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


def _get_json(url: str, token: str | None = None, timeout: float = 2.0) -> Any:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


# --- PostgreSQL ----------------------------------------------------------------------------------


async def _prepare_database(fresh: bool) -> None:
    """Create ``kitchen_demo`` if missing; drop it first when the demo starts from scratch."""
    try:
        admin = await asyncpg.connect(_dsn("postgres"), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        raise SystemExit(
            f"demo: PostgreSQL is not reachable at {SERVER_DSN} ({exc}).\n"
            "      Start it (e.g. 'service postgresql start') or set KITCHEN_DEMO_PG."
        ) from None
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if exists and fresh:
            await admin.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
            exists = None
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()


# --- processes -----------------------------------------------------------------------------------


class Child:
    """One process the demo started: its own session (Ctrl-C reaches only the demo), a log."""

    def __init__(self, name: str, argv: list[str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, wait; SIGKILL if it does not end."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  {self.name} did not stop within {timeout:.0f} s: killing it")
                process.kill()
                process.wait(10)
        print(f"  stopped {self.name} (pid {process.pid}, exit {process.returncode})")
        self.process = None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _wait_until(what: str, child: Child, check: Any, within: float = 20.0) -> Any:
    """Poll ``check()`` until it returns something true; fail if the child dies or time is up."""
    deadline = time.monotonic() + within
    while True:
        if not child.alive:
            raise RuntimeError(f"{child.name} exited while waiting for {what}:\n{child.tail()}")
        try:
            result = check()
        except (OSError, urllib.error.URLError, ValueError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}:\n{child.tail()}")
        time.sleep(0.1)  # ok: polls child processes started by the demo


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# --- the demo ------------------------------------------------------------------------------------


class Demo:
    """Everything the demo starts, in start order; stopped in reverse."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.children: list[Child] = []
        self.tokens: dict[str, str] = {}
        self.central_token = ""
        self.dashboard_password = ""
        self.broker_port = BROKER_PORT if _port_free(BROKER_PORT) else free_port()

    def _spawn(self, child: Child) -> Child:
        self.children.append(child)
        child.start()
        return child

    def start(self) -> None:
        broker = self._start_broker()
        central_toml = self._start_central(broker)
        for name, port in NODES:
            self._configure_node(name, port, central_toml)
        # Mosquitto reads the new logins and ACL blocks on SIGHUP; nodes connect only after it
        # (mosquitto 2.0 does not apply a reloaded ACL to a client that was already connected).
        self._reload_broker(broker)
        nodes = [self._start_node(name, port) for name, port in NODES]
        for (name, port), child in zip(NODES, nodes, strict=True):
            _wait_until(
                f"{name} to connect to the broker",
                child,
                lambda port=port: _get_json(f"http://127.0.0.1:{port}/api/health")["sync"][
                    "connected"
                ],
            )

    def _start_broker(self) -> Child:
        directory = self.dir / "broker"
        (directory / "data").mkdir(parents=True, exist_ok=True)
        self.password_file = directory / "passwd"
        self.acl_file = directory / "acl"
        log = directory / "mosquitto.log"
        self.central_login = add_central(
            password_file=self.password_file,
            acl_file=self.acl_file,
            household=HOUSEHOLD,
            port=self.broker_port,
        )
        config = directory / "mosquitto.conf"
        config.write_text(
            render_broker_config(
                password_file=self.password_file,
                acl_file=self.acl_file,
                persistence_location=directory / "data",
                port=self.broker_port,
                run_as_user=pwd.getpwuid(os.getuid()).pw_name,
                log_dest=f"file {log}",
            ),
            encoding="utf-8",
        )
        print(f"starting mosquitto on 127.0.0.1:{self.broker_port} ...")
        broker = self._spawn(Child("mosquitto", [MOSQUITTO, "-c", str(config)], log))
        _wait_until("mosquitto", broker, lambda: _listening(self.broker_port), 10)
        return broker

    def _reload_broker(self, broker: Child) -> None:
        log = self.dir / "broker" / "mosquitto.log"

        def reloads() -> int:
            return log.read_text(errors="replace").count("Reloading config")

        before = reloads()
        assert broker.process is not None
        broker.process.send_signal(signal.SIGHUP)
        _wait_until("mosquitto to reload its logins", broker, lambda: reloads() > before, 10)

    def _start_central(self, broker: Child) -> Path:
        directory = self.dir / "central"
        directory.mkdir(parents=True, exist_ok=True)
        config = directory / "central.toml"
        config.write_text(
            "# Written by tests/perf/demo.py (make demo).\n"
            "[central]\n"
            f'household = "{HOUSEHOLD}"\n'
            'instance = "central-demo"\n\n'
            "[database]\n"
            f"dsn = {json.dumps(_dsn(DATABASE))}\n\n"
            "[mqtt]\n"
            'host = "127.0.0.1"\n'
            f"port = {self.broker_port}\n"
            f'username = "{self.central_login.username}"\n'
            f"password = {json.dumps(self.central_login.password)}\n\n"
            "[http]\n"
            'host = "127.0.0.1"\n'
            f"port = {CENTRAL_PORT}\n\n"
            "# No internet here: no Open Food Facts lookups (base_url points at nothing).\n"
            "[off]\n"
            "enabled = false\n"
            'base_url = "http://127.0.0.1:9"\n',
            encoding="utf-8",
        )
        config.chmod(0o600)
        print(f"starting kitchen-central (HTTP on 127.0.0.1:{CENTRAL_PORT}) ...")
        argv = [*_command("kitchen-central", "central.cli"), "--config", str(config), "run"]
        central = self._spawn(Child("kitchen-central", argv, directory / "central.log"))
        _wait_until(
            "central's HTTP API",
            central,
            lambda: _get_json(f"http://127.0.0.1:{CENTRAL_PORT}/api/health"),
        )
        self.central_token = self._central_token(config)
        self.dashboard_password = self._dashboard_login(config)
        return config

    def _dashboard_login(self, config: Path) -> str:
        """The dashboard account ``demo`` with a fresh password (made, or reset when an earlier
        run made it), through ``kitchen-central user``."""
        password = secrets.token_urlsafe(12)
        cli = [*_command("kitchen-central", "central.cli"), "--config", str(config), "user"]
        for command in ("add", "passwd"):
            done = subprocess.run(
                [*cli, command, DASHBOARD_USER, "--password-stdin"],
                cwd=ROOT,
                input=password + "\n",
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode == 0:
                return password
        raise RuntimeError(f"could not make the dashboard login: {done.stderr.strip()}")

    def _central_token(self, config: Path) -> str:
        """A fresh API token for central's (authenticated) API, replacing an earlier run's."""
        cli = [*_command("kitchen-central", "central.cli"), "--config", str(config), "token"]
        subprocess.run([*cli, "revoke", "demo"], cwd=ROOT, capture_output=True, check=False)
        made = subprocess.run(
            [*cli, "create", "--name", "demo", "--scope", "read"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return made.stdout.strip().splitlines()[-1]

    def _configure_node(self, name: str, port: int, central_toml: Path) -> None:
        """``kitchen-central node add`` prints the [sync] section; a token from the node CLI."""
        directory = self.dir / name
        directory.mkdir(parents=True, exist_ok=True)
        added = subprocess.run(
            [
                *_command("kitchen-central", "central.cli"),
                "--config",
                str(central_toml),
                "node",
                "add",
                name,
                "--password-file",
                str(self.password_file),
                "--acl-file",
                str(self.acl_file),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        config = directory / "node.toml"
        config.write_text(
            "# Written by tests/perf/demo.py (make demo).\n"
            "[node]\n"
            f'id = "{name}"\n'
            f'household = "{HOUSEHOLD}"\n'
            f'name = "Demo {name}"\n\n'
            "[http]\n"
            'host = "127.0.0.1"\n'
            f"port = {port}\n\n"
            "[storage]\n"
            f"data_dir = {json.dumps(str(directory / 'data'))}\n\n"
            '[scanner]\ntype = "none"\n\n'
            '[display]\ntype = "none"\n\n' + added.stdout,
            encoding="utf-8",
        )
        config.chmod(0o600)
        token = subprocess.run(
            [
                *_command("kitchen-node", "appliance"),
                "token",
                "create",
                "--config",
                str(config),
                "--name",
                "demo",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        self.tokens[name] = token.stdout.strip().splitlines()[-1]

    def _start_node(self, name: str, port: int) -> Child:
        directory = self.dir / name
        print(f"starting kitchen-node {name} on 127.0.0.1:{port} ...")
        argv = [
            *_command("kitchen-node", "appliance"),
            "run",
            "--config",
            str(directory / "node.toml"),
        ]
        return self._spawn(Child(name, argv, directory / "node.log"))

    def stop(self) -> None:
        """Stop every process this demo started, last started first."""
        for child in reversed(self.children):
            child.stop()
        self.children = []

    def dead(self) -> list[Child]:
        """Children that exited on their own."""
        return [c for c in self.children if not c.alive]

    def instructions(self) -> str:
        a, b = self.tokens["node-a"], self.tokens["node-b"]
        url_a, url_b = (f"http://127.0.0.1:{port}" for _, port in NODES)
        central = f"http://127.0.0.1:{CENTRAL_PORT}"
        scan = shlex.join(
            [
                "curl",
                "-s",
                "-X",
                "POST",
                f"{url_a}/api/scanner/scan",
                "-H",
                f"Authorization: Bearer {a}",
                "-H",
                "Content-Type: application/json",
                "-d",
                json.dumps({"code": EAN}),
            ]
        )
        consume = scan.replace(
            json.dumps({"code": EAN}), json.dumps({"code": EAN, "mode": "consume"})
        )
        python = os.path.relpath(sys.executable, ROOT)
        watch = shlex.join([python, "-m", "tests.perf.demo", "watch", url_b, b])
        lines = [
            "",
            "=" * 78,
            " Kitchen demo is running: mosquitto, kitchen-central, node-a and node-b",
            "=" * 78,
            f" broker   mqtt://127.0.0.1:{self.broker_port} ({_rel(self.dir)}/broker)",
            f" central  {central}   database {_dsn(DATABASE)}",
            f" DASHBOARD  {central}/   log in as {DASHBOARD_USER!r}, password"
            f" {self.dashboard_password!r}",
            f" node-a   {url_a}   token {a}",
            f" node-b   {url_b}   token {b}",
            " Open Food Facts enrichment is OFF (no internet here): unknown barcodes stay",
            " unnamed; central's [off] enabled = false in var/demo/central/central.toml.",
            "",
            " 1. In a second terminal, watch node B's WebSocket (every change arrives there):",
            f"      {watch}",
            "    (or, with websocat: websocat 'ws://127.0.0.1:8081/api/ws?token=" + b + "')",
            "",
            " 2. Scan a barcode on node A (mode 'add' buys one):",
            f"      {scan}",
            "    consume it again:",
            f"      {consume}",
            "",
            " 3. See the lot on node B (it came through the broker and central):",
            f"      curl -s -H 'Authorization: Bearer {b}' {url_b}/api/inventory",
            "",
            " Central's API (a read-only token; 'kitchen-central token create' makes more):",
            *(
                f"      curl -s -H 'Authorization: Bearer {self.central_token}' {central}{path}"
                for path in (
                    "/api/health",
                    "/api/nodes",
                    "/api/inventory",
                    "/api/products",
                    "/api/shopping",
                    "/api/state/checksum",
                )
            ),
            f"      WebSocket: {python} -m tests.perf.demo watch {central} {self.central_token}",
            "",
            f" Logs: {_rel(self.dir)}/*/*.log    Stop everything: Ctrl-C",
            "=" * 78,
        ]
        return "\n".join(lines)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def run(fresh: bool) -> int:
    """Start everything, print the instructions, wait for Ctrl-C or SIGTERM, stop."""
    if not Path(MOSQUITTO).exists():
        print(f"demo: {MOSQUITTO} not found (apt-get install mosquitto)", file=sys.stderr)
        return 2
    stop = threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    # Checked before anything is wiped: a second demo must not pull the data from under a first.
    busy = [p for p in (CENTRAL_PORT, *(port for _, port in NODES)) if not _port_free(p)]
    if busy:
        print(
            f"demo: port(s) {', '.join(map(str, busy))} are in use; stop what listens there "
            "(another demo, or 'make run'?)",
            file=sys.stderr,
        )
        return 1
    # Node databases and the PostgreSQL event log belong together: a node that starts from an
    # empty SQLite file reuses sequence numbers its earlier self already sent to central.
    nodes_exist = all((DEMO_DIR / name / "data" / "kitchen.sqlite3").exists() for name, _ in NODES)
    if fresh or not nodes_exist:
        if DEMO_DIR.exists():
            shutil.rmtree(DEMO_DIR)
        fresh = True
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    asyncio.run(_prepare_database(fresh))
    print(f"demo: {'fresh start' if fresh else 'keeping earlier data'} in {_rel(DEMO_DIR)}")

    demo = Demo(DEMO_DIR)
    code = 0
    try:
        demo.start()
        print(demo.instructions(), flush=True)
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            webbrowser.open(f"http://127.0.0.1:{CENTRAL_PORT}/")  # the login is printed above
        while not stop.wait(0.5):
            dead = demo.dead()
            if dead:
                for child in dead:
                    print(f"demo: {child.name} exited unexpectedly:\n{child.tail()}")
                code = 1
                break
        if received:
            print(f"\ndemo: {received[0]} received; stopping in reverse order")
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr if isinstance(exc, subprocess.CalledProcessError) else ""
        print(f"demo: {exc}\n{detail or ''}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C while stopping must not leave processes behind.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        demo.stop()
    return code


async def watch(url: str, token: str | None) -> None:
    """Print every WebSocket message of a node (or central) as one JSON line."""
    import aiohttp

    ws_url = f"{url.rstrip('/')}/api/ws"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(ws_url, headers=headers) as ws,
    ):
        print(f"watching {ws_url} (Ctrl-C to stop)", flush=True)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                print(message.data, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.demo", description=__doc__)
    parser.add_argument("--fresh", action="store_true", help="forget earlier demo data first")
    sub = parser.add_subparsers(dest="command")
    watch_cmd = sub.add_parser("watch", help="print a node's (or central's) WebSocket messages")
    watch_cmd.add_argument("url", help="e.g. http://127.0.0.1:8081")
    watch_cmd.add_argument("token", nargs="?", help="the node's device token (central needs none)")
    args = parser.parse_args(argv)
    if args.command == "watch":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(watch(args.url, args.token))
        return 0
    return run(args.fresh)


if __name__ == "__main__":
    sys.exit(main())
