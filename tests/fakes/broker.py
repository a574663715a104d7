"""A real Mosquitto process owned by a test: logins and ACLs as in production, faults on demand.

The configuration is rendered from ``firmware/broker`` by ``central.credentials`` (password
file, pattern ACL, persistence), so tests run against the same broker rules a household gets.
The port stays the same across ``stop()``/``kill()``/``start()`` so clients reconnect to it.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path

from central.credentials import (
    NodeCredentials,
    add_central,
    add_ha,
    add_node,
    render_broker_config,
)
from tests.fakes.ports import free_port

MOSQUITTO = os.environ.get("KITCHEN_TEST_MOSQUITTO", "/usr/sbin/mosquitto")


class Broker:
    """One mosquitto on 127.0.0.1; ``add_node`` before ``start`` (or ``reload`` after)."""

    def __init__(self, directory: Path, household: str = "home") -> None:
        self.dir = directory
        self.household = household
        self.port = free_port()
        self.password_file = directory / "passwd"
        self.acl_file = directory / "acl"
        self.data = directory / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_file = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.central = add_central(
            password_file=self.password_file,
            acl_file=self.acl_file,
            household=household,
            port=self.port,
        )
        self.config_file = directory / "mosquitto.conf"
        self.config_file.write_text(
            render_broker_config(
                password_file=self.password_file,
                acl_file=self.acl_file,
                persistence_location=self.data,
                port=self.port,
                run_as_user=pwd.getpwuid(os.getuid()).pw_name,
                log_dest=f"file {self.log_file}",
                max_inflight_messages=100,
            ),
            encoding="utf-8",
        )

    def add_node(self, name: str) -> NodeCredentials:
        """A login for node ``name`` (call ``reload()`` if the broker runs)."""
        return add_node(
            name,
            password_file=self.password_file,
            acl_file=self.acl_file,
            household=self.household,
            port=self.port,
        )

    def add_ha(self, name: str = "homeassistant", prefix: str = "homeassistant") -> NodeCredentials:
        """Home Assistant's login (call ``reload()`` if the broker runs)."""
        return add_ha(
            name,
            password_file=self.password_file,
            acl_file=self.acl_file,
            household=self.household,
            prefix=prefix,
            port=self.port,
        )

    async def start(self, within: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        assert self.process is None or self.process.poll() is not None
        self.process = self._spawn()
        deadline = time.monotonic() + within
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not start: {self.tail()}") from None
                await asyncio.sleep(0.02)  # ok: another process's port; nothing to await
                continue
            writer.close()
            await writer.wait_closed()
            return

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_file)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def reload(self, within: float = 10.0) -> None:
        """SIGHUP, and wait until mosquitto has re-read passwords and ACLs.

        Clients must connect only after this: mosquitto 2.0 does not re-apply a reloaded ACL to
        a client connected before the reload (a node connected too early never gets its acks).
        """
        if self.process is None or self.process.poll() is not None:
            return
        before = self._reloads()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + within
        while self._reloads() == before:
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not reload its configuration")
            await asyncio.sleep(0.02)  # ok: a reload shows only as a line in its log file

    def _reloads(self) -> int:
        try:
            return self.log_file.read_text(errors="replace").count("Reloading config")
        except OSError:
            return 0

    async def stop(self) -> None:
        """Graceful stop (SIGTERM): the persistence file is written."""
        await self._end(signal.SIGTERM)

    async def kill(self) -> None:
        """kill -9: whatever the broker queued since its last autosave is lost."""
        await self._end(signal.SIGKILL)

    async def _end(self, sig: signal.Signals) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        await asyncio.to_thread(process.wait, 10)
        self.process = None

    def close(self) -> None:
        """Kill the process if it still runs (for ``finally``)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def tail(self, lines: int = 20) -> str:
        """The end of the broker log."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
