"""Building blocks of the sync tests: central in-process or as a subprocess, and nodes.

A node here is the real thing minus HTTP: the lead's SQLite ``Store`` in ``tmp_path`` and the
real ``SyncClient``; events are written through ``store.transaction()`` as services do.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.core.checksum import state_checksum
from appliance.core.events import Event
from appliance.store import Store
from appliance.sync.client import SyncClient
from appliance.sync.config import SyncConfig
from central.config import CentralConfig, build_config
from central.credentials import NodeCredentials
from tests.fakes.broker import Broker
from tests.fakes.events import gtin13


async def until(
    condition: Callable[[], Awaitable[bool]] | Callable[[], bool],
    within: float = 30.0,
    what: str = "condition",
    every: float = 0.05,
) -> None:
    """Await ``condition`` (sync or async) until it holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(every)  # ok: polls state across processes and a broker


def central_config(
    dsn: str,
    broker: Broker,
    *,
    instance: str = "central-1",
    port: int | None = None,
    off_url: str | None = None,
    receipts: dict[str, Any] | None = None,
    homeassistant: dict[str, Any] | None = None,
    **sync: Any,
) -> CentralConfig:
    """A central configuration for the test broker and database."""
    return build_config(
        {
            "central": {"household": broker.household, "instance": instance},
            "database": {"dsn": dsn, "min_connections": 1, "max_connections": 6},
            "mqtt": {
                "host": "127.0.0.1",
                "port": port or broker.port,
                "username": broker.central.username,
                "password": broker.central.password,
                "workers": 4,
                "publish_timeout": 5.0,
            },
            "http": {"host": "127.0.0.1", "port": 0},
            # Browsing the LAN is tested on its own (tests/test_lan.py).
            "lan": {"browse": False},
            "off": {"enabled": off_url is not None, "base_url": off_url or "http://127.0.0.1:9"},
            "sync": sync,
            # No OCR worker unless a test asks for one (loading the model takes seconds).
            "receipts": {"workers": 0} if receipts is None else receipts,
            "homeassistant": homeassistant or {},
        }
    )


def write_central_config(path: Path, config: CentralConfig) -> Path:
    """Write a configuration as TOML (for ``kitchen-central run`` in a subprocess)."""
    data = config.model_dump(mode="json")
    data["database"]["dsn"] = config.database.dsn.get_secret_value()
    data["mqtt"]["password"] = config.mqtt.resolved_password()
    lines: list[str] = []
    for section, values in data.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if value is None:
                continue
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, int | float):
                lines.append(f"{key} = {value}")
            elif isinstance(value, list):  # lists of strings: JSON's form is TOML's too
                lines.append(f"{key} = {json.dumps([str(v) for v in value])}")
            else:
                lines.append(f"{key} = {json.dumps(str(value))}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CentralProcess:
    """``kitchen-central run`` as a child process, for kill -9 tests."""

    def __init__(self, config_file: Path, log_file: Path) -> None:
        self.config_file = config_file
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> None:
        """Start the process (it connects on its own)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1", **extra_env)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "central.cli",
                    "--config",
                    str(self.config_file),
                    "--log-level",
                    os.environ.get("KITCHEN_TEST_CENTRAL_LOG", "INFO"),
                    "run",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


class Node:
    """A node: real SQLite store and real sync client against the test broker."""

    def __init__(
        self,
        name: str,
        directory: Path,
        broker: Broker,
        store_class: type[Store] = Store,
        creds: NodeCredentials | None = None,
        **sync: Any,
    ) -> None:
        self.name = name
        self.store_class = store_class
        self.directory = directory
        self.broker = broker
        self.creds = creds or broker.add_node(name)
        self.sync_settings = {
            "enabled": True,
            "host": "127.0.0.1",
            "port": broker.port,
            "username": self.creds.username,
            "password": self.creds.password,
            "ack_timeout": 3.0,
            "catchup_interval": 5.0,
            "catchup_timeout": 3.0,
            "poll_interval": 0.2,
            "reconnect_max": 1.0,
            **sync,
        }
        self.store: Store | None = None
        self.client: SyncClient | None = None
        self.applied: list[Event] = []
        self.statuses: list[dict[str, Any]] = []
        self.products: list[str] = []
        self.lots: list[tuple[str, str]] = []
        self._code = abs(hash(name)) % 10**6 * 10**5

    async def start(self, *, port: int | None = None) -> None:
        """Open the store and start syncing (returns at once, broker or not)."""
        self.store = await self.store_class.open(self.directory / "kitchen.sqlite3", self.name)
        settings = dict(self.sync_settings)
        if port is not None:
            settings["port"] = port
        self.client = SyncClient(
            SyncConfig(**settings),
            self.name,
            self.broker.household,
            self.store,
            self.applied.extend,
            self.statuses.append,
        )
        await self.client.start()

    async def stop(self) -> None:
        """Close the client and the store."""
        if self.client is not None:
            await self.client.close()
            self.client = None
        if self.store is not None:
            await self.store.close()
            self.store = None

    async def emit(self, event_type: str, entity_id: str, data: dict[str, Any]) -> Event:
        """Write one event the way the node's services do, and nudge the sender."""
        assert self.store is not None
        async with self.store.transaction() as tx:
            event = await tx.emit(event_type, entity_id, data)
        if self.client is not None:
            self.client.notify()
        return event

    async def scan(self, i: int) -> Event:
        """One realistic write: a new product every 10th, else a purchase or a consumption."""
        from appliance.core.ids import new_id, product_id_for_code

        if not self.products or i % 10 == 0:
            code = gtin13(self._code + i)
            product_id = product_id_for_code(code)
            self.products.append(product_id)
            return await self.emit(
                "product.created",
                product_id,
                {"fields": {"name": f"{self.name} {i}", "barcodes": [code], "unit": "piece"}},
            )
        product_id = self.products[-1]
        if i % 3 == 0 and self.lots:
            lot_product, lot_id = self.lots[-1]
            return await self.emit(
                "stock.consumed",
                new_id(),
                {"product_id": lot_product, "lots": [{"lot_id": lot_id, "amount": 1}]},
            )
        lot_id = new_id()
        self.lots.append((product_id, lot_id))
        return await self.emit(
            "stock.purchased",
            lot_id,
            {"product_id": product_id, "amount": 2, "lot": {"source": "scan"}},
        )

    async def checksum(self) -> str:
        """The node's state checksum."""
        assert self.store is not None
        method = getattr(self.store, "state_checksum", None)
        if method is not None:
            return str(await method())
        return state_checksum([item async for item in self.store.entity_states()])

    async def outbox_depth(self) -> int:
        """Events not yet acknowledged."""
        assert self.store is not None
        return int(await self.store.outbox_depth())
