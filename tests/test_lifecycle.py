"""The node under a service manager: READY once serving, SIGHUP reloads, SIGTERM stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.perf.nodeproc import create_token, free_port


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    """A real Unix datagram socket standing in for systemd's notify socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(20)
    try:
        yield sock
    finally:
        sock.close()


def _until(sock: socket.socket, wanted: str) -> list[str]:
    """Read notifications until one carries ``wanted``; returns all lines seen."""
    seen: list[str] = []
    while True:
        lines = sock.recv(4096).decode().splitlines()
        seen.extend(lines)
        if wanted in lines:
            return seen


def _write_config(path: Path, data_dir: Path, port: int, default_mode: str) -> None:
    path.write_text(
        f'[node]\nid = "life"\n[http]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[storage]\ndata_dir = "{data_dir}"\n[modes]\ndefault = "{default_mode}"\n'
        'cycle = ["add", "consume", "lookup"]\n'
    )


def _get(url: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, object] = json.loads(response.read())
        return result


def test_ready_reload_and_clean_stop(tmp_path: Path, notify_socket: socket.socket) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    token = create_token(data_dir)
    port = free_port()
    config = tmp_path / "node.toml"
    _write_config(config, data_dir, port, "add")
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="200000")
    process = subprocess.Popen(
        [sys.executable, "-m", "appliance", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen = _until(notify_socket, "READY=1")
        # READY means the port is bound and the database open: the API answers at once.
        base = f"http://127.0.0.1:{port}"
        assert _get(f"{base}/api/scanner/mode?station_id=box", token)["mode"] == "add"
        assert "WATCHDOG=1" in _until(notify_socket, "WATCHDOG=1")

        _write_config(config, data_dir, port, "consume")
        process.send_signal(signal.SIGHUP)
        seen = _until(notify_socket, "READY=1")
        assert "RELOADING=1" in seen
        assert _get(f"{base}/api/scanner/mode?station_id=box", token)["mode"] == "consume"

        process.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in _until(notify_socket, "STOPPING=1")
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        log = process.stderr.read().decode()
        process.stderr.close()
    assert "Configuration reloaded" in log
    assert "Traceback" not in log
