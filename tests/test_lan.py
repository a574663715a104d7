"""Found on the LAN: a node announces itself over mDNS/DNS-SD, and nodes and central find it.

Everything runs on the loopback interface with python-zeroconf (real multicast packets on lo);
Avahi's service file is checked as XML, since the daemon needs D-Bus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import ClientSession, web

from appliance.config import build_config
from appliance.lan import avahi
from appliance.lan.announce import (
    AvahiCheck,
    ZeroconfAnnouncer,
    choose_backend,
    start_announcer,
)
from appliance.lan.browse import LanWatch
from appliance.lan.config import MdnsConfig
from appliance.lan.records import KITCHEN_TYPE, announcement, read_found
from appliance.settings_base import ConfigError
from tests.fakes.postgres import temporary_database
from tests.perf.nodeproc import free_port

LOOPBACK = ["127.0.0.1"]


def _announcement(node_id: str, port: int, name: str = "Pantry", tls: bool = False):  # type: ignore[no-untyped-def]
    return announcement(
        name=name,
        hostname="testhost",
        port=port,
        addresses=LOOPBACK,
        node_id=node_id,
        household="home",
        tls=tls,
        version="0.1.0",
    )


# --- what is announced --------------------------------------------------------------------


def test_records_name_the_node_household_and_api() -> None:
    ann = _announcement("pantry", 8443, tls=True)
    assert ann.host == "testhost.local."
    (kitchen, kitchen_txt), (web_type, _) = ann.services()
    assert kitchen == KITCHEN_TYPE
    assert web_type == "_https._tcp.local."
    assert kitchen_txt == {
        "id": "pantry",
        "hh": "home",
        "api": "1",
        "v": "0.1.0",
        "tls": "1",
        "path": "/",
    }
    assert _announcement("pantry", 8080).services()[1][0] == "_http._tcp.local."
    # A DNS label is at most 63 bytes.
    assert len(_announcement("x", 1, name="K" * 100).instance) == 63


def test_foreign_or_broken_announcements_are_ignored() -> None:
    ok = read_found(
        name=f"Pantry.{KITCHEN_TYPE}",
        server="pi.local.",
        port=8080,
        properties={b"id": b"pantry", b"hh": b"home", b"api": b"1", b"tls": b"0"},
        addresses=["192.0.2.7"],
    )
    assert ok is not None
    assert ok.url == "http://pi.local:8080/"
    assert ok.instance == "Pantry"
    for broken in (
        {"properties": {b"hh": b"home"}},  # no node id
        {"port": 0},
        {"port": 70000},
        {"server": None},
    ):
        args = {
            "name": f"X.{KITCHEN_TYPE}",
            "server": "pi.local.",
            "port": 8080,
            "properties": {b"id": b"x"},
            "addresses": [],
            **broken,
        }
        assert read_found(**args) is None, broken  # type: ignore[arg-type]


def test_mdns_config_rejects_what_is_not_an_address() -> None:
    with pytest.raises(ConfigError, match=r"mdns\.interfaces"):
        build_config({"mdns": {"interfaces": ["eth0"]}})
    with pytest.raises(ConfigError, match=r"mdns\.mode"):
        build_config({"mdns": {"mode": "bonjour"}})


def test_auto_leaves_announcing_to_avahi_where_it_runs(tmp_path: Path) -> None:
    pid = tmp_path / "pid"
    assert choose_backend("auto", avahi_pid=pid) == "zeroconf"
    pid.write_text("123\n")
    assert choose_backend("auto", avahi_pid=pid) == "avahi"
    assert choose_backend("off", avahi_pid=pid) == "off"
    assert choose_backend("zeroconf", avahi_pid=pid) == "zeroconf"


async def test_avahi_check_names_the_missing_service_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "appliance.lan.announce")
    missing = tmp_path / "kitchen-node.service"
    await AvahiCheck(missing).start()
    assert "avahi-service" in caplog.text and str(missing) in caplog.text
    caplog.clear()
    missing.write_text("<service-group/>")
    await AvahiCheck(missing).start()
    assert "announced on the LAN by Avahi" in caplog.text


def test_avahi_service_file_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "node.toml"
    config.write_text(
        '[node]\nid = "pantry"\nhousehold = "flat"\nname = "Pantry & Co"\n[http]\nport = 8081\n'
    )
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "mdns", "avahi-service", "--config", str(config)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    root = ET.fromstring(out.split("\n", 2)[2])  # past the XML declaration and DOCTYPE
    assert root.tag == "service-group"
    assert root.findtext("name") == "Pantry & Co on %h"
    services = {s.findtext("type"): s for s in root.findall("service")}
    assert set(services) == {"_kitchen._tcp", "_http._tcp"}
    kitchen = services["_kitchen._tcp"]
    assert kitchen.findtext("port") == "8081"
    txt = {t.text for t in kitchen.findall("txt-record")}
    assert {"id=pantry", "hh=flat", "api=1", "tls=0"} <= txt
    assert Path("/etc/avahi/services/kitchen-node.service") == avahi.SERVICE_FILE


# --- on the air, on loopback ---------------------------------------------------------------


async def _found(watch: LanWatch, node_id: str) -> None:
    await asyncio.wait_for(
        watch.wait_for(lambda nodes: any(n.node_id == node_id for n in nodes.values())), 15
    )


async def test_announced_node_is_found_and_gone_when_it_stops() -> None:
    ann = _announcement("lan-pantry", 8123)
    announcer = await start_announcer(MdnsConfig(mode="zeroconf", interfaces=LOOPBACK), ann)
    assert isinstance(announcer, ZeroconfAnnouncer)
    watch = LanWatch(LOOPBACK)
    await watch.start()
    try:
        await asyncio.wait_for(announcer.registered.wait(), 15)
        await _found(watch, "lan-pantry")
        (found,) = [n for n in watch.found() if n.node_id == "lan-pantry"]
        assert (found.household, found.port, found.api, found.tls) == ("home", 8123, "1", False)
        assert found.host == "testhost.local."
        assert "127.0.0.1" in found.addresses
        # Goodbye packets on close: the watch drops the node without waiting for its TTL.
        await announcer.close()
        await asyncio.wait_for(
            watch.wait_for(lambda nodes: all(n.node_id != "lan-pantry" for n in nodes.values())),
            15,
        )
    finally:
        await announcer.close()
        await watch.close()


def _node_config(path: Path, data_dir: Path, port: int, node_id: str, mode: str) -> None:
    path.write_text(
        f'[node]\nid = "{node_id}"\nname = "LAN test"\n[http]\nhost = "127.0.0.1"\n'
        f'port = {port}\n[storage]\ndata_dir = "{data_dir}"\n[mdns]\nmode = "{mode}"\n'
    )


async def _discover(node_id: str) -> dict[str, object]:
    """``kitchen-node discover`` until it lists ``node_id`` (the node registers in the
    background, so the first listen may be too early)."""
    for _ in range(5):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "appliance",
            "discover",
            "--json",
            "--timeout",
            "2",
            "--interface",
            "127.0.0.1",
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        assert process.returncode == 0
        found = [json.loads(line) for line in out.decode().splitlines()]
        mine = [f for f in found if f["node"] == node_id]
        if mine:
            return mine[0]
    raise AssertionError(f"{node_id} was not discovered")


async def _wait_ready(port: int) -> None:
    async with ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"http://127.0.0.1:{port}/api/health") as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            await asyncio.sleep(0.05)  # ok: polling a separate process until it listens
    raise AssertionError("node did not start")


async def test_a_running_node_is_found_by_kitchen_node_discover(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    config = tmp_path / "node.toml"
    _node_config(config, data_dir, port, "lan-discover", "zeroconf")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appliance", "run", "--config", str(config)
    )
    try:
        await _wait_ready(port)
        found = await _discover("lan-discover")
        assert found["port"] == port
        assert found["household"] == "home"
        assert found["instance"] == "LAN test"
        assert str(found["url"]).endswith(f".local:{port}/")
    finally:
        process.terminate()
        await process.wait()


def test_a_node_bound_to_loopback_is_not_announced_by_default(tmp_path: Path) -> None:
    """``auto`` on 127.0.0.1: nobody on the LAN could reach it, so nothing is announced and
    python-zeroconf is not even loaded."""
    from appliance.app import _announce

    config = build_config({"http": {"host": "127.0.0.1"}, "storage": {"data_dir": str(tmp_path)}})
    assert asyncio.run(_announce(config, 8080)) is None
    probe = (
        "import asyncio, sys\n"
        "from appliance.app import _announce\n"
        "from appliance.config import build_config\n"
        "c = build_config({'http': {'host': '127.0.0.1'}})\n"
        "assert asyncio.run(_announce(c, 8080)) is None\n"
        "print('zeroconf' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert out.strip() == "False"


# --- central lists what it finds -------------------------------------------------------------


@pytest.fixture(scope="module")
def lan_dsn() -> Iterator[str]:
    """A database of its own for central's LAN list."""
    with temporary_database("kitchen_lan") as dsn:
        yield dsn


async def test_central_lists_nodes_on_the_lan_and_which_are_added(lan_dsn: str) -> None:
    from central import lan
    from central.db.migrations import migrate
    from central.http import POOL

    pool = await asyncpg.create_pool(lan_dsn, min_size=1, max_size=2)
    assert pool is not None
    async with pool.acquire() as conn:
        await migrate(conn)
    await pool.execute(
        "INSERT INTO nodes (node, status, last_seen) VALUES ('lan-known', 'online', now())"
    )
    known = await start_announcer(
        MdnsConfig(mode="zeroconf", interfaces=LOOPBACK), _announcement("lan-known", 8201)
    )
    new = await start_announcer(
        MdnsConfig(mode="zeroconf", interfaces=LOOPBACK),
        _announcement("lan-new", 8202, name="Cellar"),
    )
    watch = LanWatch(LOOPBACK)
    app = web.Application()
    app[POOL] = pool
    lan.add_routes(app, watch, "home")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    await watch.start()
    try:
        await _found(watch, "lan-known")
        await _found(watch, "lan-new")
        url = f"http://127.0.0.1:{port}/api/lan/nodes"
        async with ClientSession() as session, session.get(url) as response:
            assert response.status == 200
            items = {i["node"]: i for i in (await response.json())["items"]}
        assert items["lan-known"]["added"] is True
        assert items["lan-new"]["added"] is False
        assert items["lan-new"]["instance"] == "Cellar"
        assert items["lan-new"]["household_matches"] is True
    finally:
        await watch.close()
        for announcer in (known, new):
            assert announcer is not None
            await announcer.close()
        await runner.cleanup()
        await pool.close()
