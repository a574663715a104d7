"""Run a real ``kitchen-node`` process for measurements, and talk to it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.fakes.ports import free_port


def create_token(data_dir: Path) -> str:
    """A device token, made by the real CLI."""
    out = subprocess.run(
        [sys.executable, "-m", "appliance", "token", "create", "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


class NodeProcess:
    """A node subprocess on a free port with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        *,
        extra_env: dict[str, str] | None = None,
        http: dict[str, int] | None = None,
    ) -> None:
        self.data_dir = data_dir
        # Every bench client comes from 127.0.0.1, and the throughput runs need every scan
        # applied: the connection and write limits are out of their way unless ``http`` says.
        self.http = {
            "max_connections_per_client": 4096,
            "max_connections": 4096,
            "max_pending_writes": 10_000,
            **(http or {}),
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, **(extra_env or {})}

    def command(self) -> list[str]:
        """The command line that starts the server (writes its configuration first)."""
        config = self.data_dir / "bench.toml"
        limits = "".join(f"{key} = {value}\n" for key, value in self.http.items())
        config.write_text(
            f'[node]\nid = "bench"\n[http]\nhost = "127.0.0.1"\nport = {self.port}\n'
            f'ws_queue_limit = 4096\n{limits}[storage]\ndata_dir = "{self.data_dir}"\n'
        )
        return [sys.executable, "-m", "appliance", "run", "--config", str(config)]

    async def start(self) -> float:
        """Start and wait until /api/health answers; returns seconds from spawn to healthy."""
        command = self.command()
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        async with aiohttp.ClientSession() as session:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError("node exited during start")
                try:
                    async with session.get(self.url + "/api/health") as response:
                        if response.status == 200:
                            return time.perf_counter() - began
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.005)  # ok: polls another process until it serves

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        """Resident memory of the node process in MiB."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = int(status.split("VmRSS:")[1].split()[0])
        return kb / 1024

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FloorProcess(NodeProcess):
    """The bare aiohttp handler of ``tests/perf/floor.py``, served like a node."""

    def command(self) -> list[str]:
        """The floor server on this port and data directory."""
        return [sys.executable, "-m", "tests.perf.floor", str(self.port), str(self.data_dir)]
