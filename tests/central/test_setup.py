"""``kitchen-central setup`` twice on a fresh database and broker directory: the second run
changes nothing; a real Mosquitto runs on what it wrote, a node added on top of it connects
over TLS, and central runs on the written configuration."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import sys
import tomllib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import asyncpg
import pytest

from appliance.core.ids import new_id
from appliance.security.tls import TlsPaths, client_ssl_context
from central.app import Central
from central.config import load_config
from central.credentials import NodeCredentials
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import MOSQUITTO, Broker
from tests.fakes.harness import Node, until
from tests.fakes.ports import free_port
from tests.fakes.postgres import SERVER_DSN, dsn_for


async def _cli(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central.cli",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _tree(root: Path) -> dict[str, tuple[bytes, int, int, int]]:
    """Every file under ``root``: content, mode, owner, group."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            files[str(path.relative_to(root))] = (
                path.read_bytes(),
                st.st_mode & 0o7777,
                st.st_uid,
                st.st_gid,
            )
    return files


async def _admin(sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(SERVER_DSN)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@pytest.fixture
async def names() -> AsyncIterator[tuple[str, str]]:
    """A database and role name of this test, dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    db, role = f"kitchen_setup_{suffix}", f"kitchen_setup_{suffix}"
    yield db, role
    await _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    await _admin(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
async def mosquitto() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Mosquitto processes the test starts; stopped afterwards."""
    running: list[asyncio.subprocess.Process] = []
    yield running
    for process in running:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def test_setup_twice_then_broker_node_and_central_run_on_it(
    tmp_path: Path,
    names: tuple[str, str],
    mosquitto: list[asyncio.subprocess.Process],
) -> None:
    db, role = names
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    etc = tmp_path / "etc"
    config = etc / "kitchen-central" / "config.toml"
    broker_dir = etc / "mosquitto"
    ports = {k: free_port() for k in ("broker", "tls", "http", "https")}
    argv = [
        "setup",
        "--config", str(config),
        "--admin-dsn", SERVER_DSN,
        "--db-name", db,
        "--db-role", role,
        "--data-dir", str(tmp_path / "var" / "kitchen-central"),
        "--broker-dir", str(broker_dir),
        "--broker-data", str(tmp_path / "var" / "mosquitto"),
        "--broker-port", str(ports["broker"]),
        "--broker-tls-port", str(ports["tls"]),
        "--broker-tls-bind", "127.0.0.1",
        "--broker-user", me,
        "--service-group", group,
        "--http-host", "127.0.0.1",
        "--http-port", str(ports["http"]),
        "--https-port", str(ports["https"]),
        "--hostname", "kitchentest",
    ]  # fmt: skip

    code, out, err = await _cli(*argv)
    assert code == 0, err
    assert "created   PostgreSQL role" in out and "created   PostgreSQL database" in out
    assert "changed   database schema (migrations 1, 2, 3, 4, 5" in out
    assert "Next steps" in out
    first = _tree(tmp_path)
    password_hash = await _admin("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
    assert password_hash is not None

    code, out, err = await _cli(*argv)
    assert code == 0, err
    assert "Nothing changed." in out, out
    steps = out.split("kitchen-central setup:\n")[1].split("Nothing changed.")[0].splitlines()
    assert len(steps) >= 10 and all(line.startswith("  unchanged ") for line in steps), out
    assert _tree(tmp_path) == first
    assert await _admin("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role) == (
        password_hash
    )

    # Secrets and the configuration: root and the service's group only.
    for secret in ("dsn", "mqtt-password", "config.toml"):
        assert (config.parent / secret).stat().st_mode & 0o777 == 0o640, secret
    assert (broker_dir / "passwd").stat().st_mode & 0o777 == 0o600

    # A node added on top of it gets the broker's TLS listener and the household CA path.
    code, out, err = await _cli(
        "node", "add", "pantry", "--config", str(config),
        "--password-file", str(broker_dir / "passwd"), "--acl-file", str(broker_dir / "acl"),
    )  # fmt: skip
    assert code == 0, err
    sync = tomllib.loads(out)["sync"]
    assert (sync["host"], sync["port"], sync["tls"]) == ("kitchentest.local", ports["tls"], True)
    assert sync["ca_file"] == "/etc/kitchen-node/household-ca.pem"

    process = await asyncio.create_subprocess_exec(
        MOSQUITTO,
        "-c",
        str(broker_dir / "kitchen.conf"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    mosquitto.append(process)

    central = Central(load_config(config))
    await central.start()
    node = Node(
        "pantry",
        tmp_path / "pantry",
        cast(Broker, SimpleNamespace(household="home", port=ports["tls"])),
        creds=NodeCredentials("pantry", sync["password"], "home", "127.0.0.1", ports["tls"]),
        host="127.0.0.1",  # the test machine does not resolve kitchentest.local
        port=ports["tls"],
        tls=True,
        ca_file=str(tmp_path / "var" / "kitchen-central" / "tls" / "ca.crt"),
    )
    try:
        assert central.urls[0] == f"https://127.0.0.1:{ports['https']}"
        await node.start()
        ca = TlsPaths.for_config(central.config.tls, central.config.central.data_dir)
        trusted = client_ssl_context(ca)
        base = central.urls[0]
        async with aiohttp.ClientSession(headers=await central_headers(central)) as http:

            async def pantry_online() -> bool:
                async with http.get(f"{base}/api/nodes", ssl=trusted) as r:
                    items = (await r.json())["items"]
                return any(i["node"] == "pantry" and i["online"] for i in items)

            await until(pantry_online, 20, "the node online through the TLS listener")
            async with http.get(f"{base}/api/health", ssl=trusted) as r:
                health = await r.json()
            assert health["database"] == "ok" and health["mqtt"]["connected"], health
            await node.emit("shopping.added", new_id(), {"fields": {"text": "Milch"}})

            async def checksum() -> dict[str, Any]:
                async with http.get(f"{base}/api/state/checksum", ssl=trusted) as r:
                    body: dict[str, Any] = await r.json()
                    return body

            await until(lambda: _has_events(checksum), 20, "the node's event at central")
            before = await checksum()
    finally:
        await node.stop()
        await central.close()

    # Backup and restore as docs/central.md says: pg_dump; on a "new machine" the role and
    # database are gone but the files come back; setup, pg_restore, and the same state.
    dump = tmp_path / "central.dump"
    await _run("pg_dump", "-Fc", "-f", str(dump), dsn_for(db))
    await _admin(f'DROP DATABASE "{db}" WITH (FORCE)')
    await _admin(f'DROP ROLE "{role}"')
    dsn_before = (config.parent / "dsn").read_bytes()
    code, out, err = await _cli(*argv)
    assert code == 0, err
    assert "created   PostgreSQL role" in out
    assert f"unchanged database DSN {config.parent / 'dsn'}" in out  # its password was reused
    assert (config.parent / "dsn").read_bytes() == dsn_before
    await _run(
        "pg_restore", "--clean", "--if-exists", "--no-owner", f"--role={role}",
        "-d", dsn_for(db), str(dump),
    )  # fmt: skip
    restored = Central(load_config(config))
    await restored.start()
    try:
        headers = await central_headers(restored)
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.get(f"{base}/api/state/checksum", ssl=trusted) as r,
        ):
            assert await r.json() == before
    finally:
        await restored.close()


async def _has_events(checksum: Any) -> bool:
    return bool((await checksum())["events"] >= 1)


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    assert process.returncode == 0, (argv, out, err)
