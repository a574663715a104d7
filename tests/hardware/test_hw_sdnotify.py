"""sd_notify against a real Unix datagram socket."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.sdnotify import Notifier, run_watchdog, watchdog_task


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    yield sock, str(path)
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_ready_status_stopping(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready("serving on :8080")
    assert received(sock) == "READY=1\nSTATUS=serving on :8080"
    assert notifier.status("3 scans")
    assert received(sock) == "STATUS=3 scans"
    assert notifier.reloading()
    assert received(sock) == "RELOADING=1"
    assert notifier.stopping()
    assert received(sock) == "STOPPING=1"


def test_abstract_socket() -> None:
    name = f"kitchen-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"


def test_no_socket_is_a_quiet_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval is None


def test_unreachable_socket_does_not_raise(tmp_path: Path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready() is False


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert Notifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval == 15.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(mine).watchdog_interval == 15.0
    other = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert Notifier(other).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "bogus"}).watchdog_interval is None


async def test_watchdog_task_pings_from_the_loop(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    loop = asyncio.get_running_loop()
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})
    assert notifier.watchdog_interval == 0.01
    async with watchdog_task(notifier) as task:
        for _ in range(3):
            data = await asyncio.wait_for(loop.sock_recv(sock, 100), 5)
            assert data == b"WATCHDOG=1"
    assert task.cancelled()


async def test_watchdog_without_systemd_returns_at_once() -> None:
    await asyncio.wait_for(run_watchdog(Notifier({})), 1)
