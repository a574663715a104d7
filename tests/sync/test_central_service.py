"""``kitchen-central run`` under a service manager: READY once serving, WATCHDOG from the event
loop, STOPPING on SIGTERM; log lines with timestamps unless journald stamps them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from central.cli import log_format
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config, write_central_config
from tests.fakes.ports import free_port


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    """A real Unix datagram socket standing in for systemd's notify socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


async def _until(sock: socket.socket, wanted: str) -> list[str]:
    """Read notifications until one carries ``wanted``; all lines seen."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    async with asyncio.timeout(30):
        while wanted not in seen:
            seen.extend((await loop.sock_recv(sock, 4096)).decode().splitlines())
    return seen


async def test_ready_watchdog_and_clean_stop(
    tmp_path: Path, dsn: str, broker: Broker, notify_socket: socket.socket
) -> None:
    port = free_port()
    config = central_config(dsn, broker)
    config = config.model_copy(update={"http": config.http.model_copy(update={"port": port})})
    path = write_central_config(tmp_path / "central.toml", config)
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    env.update(NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="200000")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "central.cli",
        "--config",
        str(path),
        "run",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        seen = await _until(notify_socket, "READY=1")
        assert f"STATUS=serving on http://127.0.0.1:{port}" in seen
        # READY means the database is migrated and the port bound: it answers at once.
        url = f"http://127.0.0.1:{port}/api/health"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
        await _until(notify_socket, "WATCHDOG=1")
        process.send_signal(signal.SIGTERM)
        await _until(notify_socket, "STOPPING=1")
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.stderr is not None
    log = (await process.stderr.read()).decode()
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines, "central logged nothing"
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ")
    assert all(stamp.match(line) for line in lines), log


def test_no_timestamps_under_journald() -> None:
    assert "asctime" not in log_format({"JOURNAL_STREAM": "8:12345"})
    assert log_format({}).startswith("%(asctime)s ")
